import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { JobStatus } from "../../../src/core/generated/crane/crane";
import { readStopFile } from "../../../src/modes/supervisor";

describe("the stop file craned writes before its SIGTERM", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "crane-stop-")), "stop");

  it("carries the reason and the grace before SIGKILL (ccon stop -t)", () => {
    fs.writeFileSync(file, JSON.stringify({ reason: "ExceedTimeLimit", graceSeconds: 3 }));
    expect(readStopFile(file)).toEqual({ reason: JobStatus.ExceedTimeLimit, graceSeconds: 3 });
    fs.writeFileSync(file, JSON.stringify({ reason: "Cancelled", graceSeconds: 0 }));
    expect(readStopFile(file)).toEqual({ reason: JobStatus.Cancelled, graceSeconds: 0 });
  });

  it("defaults to a cancel with 10 s of grace: no file, an older craned's bare reason, or nonsense", () => {
    fs.rmSync(file, { force: true });
    expect(readStopFile(file)).toEqual({ reason: JobStatus.Cancelled, graceSeconds: 10 });
    fs.writeFileSync(file, "ExceedTimeLimit");
    expect(readStopFile(file)).toEqual({ reason: JobStatus.ExceedTimeLimit, graceSeconds: 10 });
    fs.writeFileSync(file, JSON.stringify({ reason: "Bogus", graceSeconds: -4 }));
    expect(readStopFile(file)).toEqual({ reason: JobStatus.Cancelled, graceSeconds: 10 });
  });
});
