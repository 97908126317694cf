import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CriLogWriter } from "../../../src/modes/supervisor/log-writer";

describe("CriLogWriter", () => {
  it("writes lines in the CRI log format, a partial line at close", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "crane-log-")), "1.log");
    const w = new CriLogWriter(file);
    w.write("stdout", Buffer.from("one\ntw"));
    w.write("stderr", Buffer.from("err\n"));
    w.write("stdout", Buffer.from("o\nthree"));
    w.close();
    const lines = fs
      .readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" ").slice(1).join(" "));
    expect(lines).toEqual(["stdout F one", "stderr F err", "stdout F two", "stdout P three"]);
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it("on a full disk drops output and says so once, without throwing", () => {
    const trouble: string[] = [];
    const w = new CriLogWriter("/dev/full", (m) => trouble.push(m));
    for (let i = 0; i < 5; i++) expect(() => w.write("stdout", Buffer.from(`line ${i}\n`))).not.toThrow();
    expect(() => w.close()).not.toThrow();
    expect(trouble).toEqual(["cannot write the log (ENOSPC): output is dropped until it can"]);
  });
});
