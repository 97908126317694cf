import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  identify,
  isAlive,
  parentPid,
  processStartTime,
  readIdentityFile,
  signalChildGroup,
  signalIdentified,
  writeIdentityFile,
} from "../../../src/core/node/process-identity";

async function exitedChild(): Promise<number> {
  const child = spawn("/bin/true");
  await new Promise((r) => child.on("exit", r));
  return child.pid!;
}

describe("process identity (pid and start time)", () => {
  it("recognises a live process and its parent", () => {
    const me = identify(process.pid)!;
    expect(me.startTime).toBeGreaterThan(0);
    expect(isAlive(me)).toBe(true);
    expect(parentPid(process.pid)).toBe(process.ppid);
  });

  it("does not take a process that started at another time for the one recorded (a recycled pid)", () => {
    const me = identify(process.pid)!;
    expect(isAlive({ pid: me.pid, startTime: me.startTime + 1 })).toBe(false);
    expect(signalIdentified({ pid: me.pid, startTime: me.startTime + 1 }, "SIGTERM")).toBe(false);
  });

  it("a process that ended is not alive", async () => {
    const pid = await exitedChild();
    expect(processStartTime(pid)).toBeUndefined();
    expect(isAlive({ pid, startTime: 1 })).toBe(false);
    expect(isAlive(undefined)).toBe(false);
  });

  it("round-trips through its file and refuses a malformed one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-ident-"));
    const file = path.join(dir, "x.pid");
    writeIdentityFile(file, { pid: 42, startTime: 777 });
    expect(readIdentityFile(file)).toEqual({ pid: 42, startTime: 777 });
    fs.writeFileSync(file, "42\n"); // an old plain pid file: no start time, so no identity
    expect(readIdentityFile(file)).toBeUndefined();
    expect(readIdentityFile(path.join(dir, "missing"))).toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });

  it("signals a shim's task group only while the shim lives and the pid is its child", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-ident-"));
    const pidFile = path.join(dir, "task.pid");
    const shim = spawn("/bin/sh", ["-c", `/usr/bin/setsid sleep 30 & echo $! > ${pidFile}; wait`]);
    const ended = new Promise((r) => shim.on("exit", r));
    const who = identify(shim.pid!)!;
    expect(signalChildGroup(who, path.join(dir, "never-written"), "SIGTERM")).toBe("unwritten");
    while (!fs.existsSync(pidFile) || !fs.readFileSync(pidFile, "utf8").trim()) await new Promise((r) => setTimeout(r, 10));
    // The pid is written before setsid has made the task its own group leader: until then there is no group to signal.
    const taskPid = fs.readFileSync(pidFile, "utf8").trim();
    const pgid = () => fs.readFileSync(`/proc/${taskPid}/stat`, "utf8").split(") ")[1]!.split(" ")[2];
    for (let i = 0; i < 500 && pgid() !== taskPid; i++) await new Promise((r) => setTimeout(r, 10));
    const stranger = path.join(dir, "stranger.pid");
    fs.writeFileSync(stranger, String(process.pid)); // alive, but not the shim's child
    expect(signalChildGroup(who, stranger, "SIGTERM")).toBe("gone");
    expect(signalChildGroup(who, pidFile, "SIGTERM")).toBe("signalled");
    await ended; // the task died, so its shim's wait returned
    expect(signalChildGroup(who, pidFile, "SIGTERM")).toBe("gone");
    fs.rmSync(dir, { recursive: true });
  });
});
