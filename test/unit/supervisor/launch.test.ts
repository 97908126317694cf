// The task shim of launch.ts, run for real (/bin/sh, setsid, setpriv): what the task sees, where it runs, and the
// exit status the shim leaves on disk. The privilege drop needs root; CI runs as root.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launchArgv, LAUNCH_ENV, SHIM_SETUP_FAILED, type TaskLaunch, userEnvScript } from "../../../src/modes/supervisor/launch";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-shim-"));
  fs.chmodSync(dir, 0o755);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function launch(argv: string[], over: Partial<TaskLaunch> = {}): TaskLaunch {
  return {
    uid: 0,
    gid: 0,
    cgroupProcs: [path.join(dir, "cgroup.procs")],
    cwd: dir,
    env: { GREETING: "it's me", PATH: "/usr/bin:/bin" },
    taskPidFile: path.join(dir, "task.pid"),
    exitFile: path.join(dir, "task.exit"),
    mode: { argv },
    ...over,
  };
}

function run(t: TaskLaunch): Promise<{ code: number | null; stdout: string; shimPid: number }> {
  const [file, ...args] = launchArgv(t);
  const child = spawn(file!, args, { env: LAUNCH_ENV, cwd: "/", stdio: ["ignore", "pipe", "pipe", "pipe"] });
  const envPipe = child.stdio[3] as NodeJS.WritableStream;
  envPipe.on("error", () => undefined); // unread when the shim stops before the task
  envPipe.end(userEnvScript(t.env));
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, shimPid: child.pid! })));
}

describe("the task shim", () => {
  it("writes the task's exit status and pid; the task gets the user environment, its directory and a session of its own", async () => {
    const r = await run(launch(["sh", "-c", 'echo "$GREETING"; pwd; echo $$; cut -d" " -f5,6 /proc/$$/stat; exit 7']));
    expect(r.code).toBe(7);
    const [greeting, cwd, pid, groupAndSession] = r.stdout.trim().split("\n");
    expect(greeting).toBe("it's me");
    expect(cwd).toBe(fs.realpathSync(dir));
    expect(fs.readFileSync(path.join(dir, "task.exit"), "utf8").trim()).toBe("7");
    expect(fs.readFileSync(path.join(dir, "task.pid"), "utf8").trim()).toBe(pid);
    expect(groupAndSession).toBe(`${pid} ${pid}`); // process group and session are the task's own
    expect(fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").trim()).toBe(String(r.shimPid)); // joined first
  });

  it("records death by a signal as 128 + the signal's number", async () => {
    const r = await run(launch(["sh", "-c", "kill -TERM $$"]));
    expect(r.code).toBe(143);
    expect(fs.readFileSync(path.join(dir, "task.exit"), "utf8").trim()).toBe("143");
  });

  it("drops to the user's uid and gid before the task runs", async () => {
    const r = await run(launch(["sh", "-c", "id -u; id -g"], { uid: 65534, gid: 65534 }));
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["65534", "65534"]);
  });

  it("starts no task and leaves no exit status when it cannot join the cgroup", async () => {
    const r = await run(launch(["sh", "-c", "echo ran"], { cgroupProcs: [path.join(dir, "missing", "cgroup.procs")] }));
    expect(r.code).toBe(SHIM_SETUP_FAILED);
    expect(r.stdout).toBe("");
    expect(fs.existsSync(path.join(dir, "task.exit"))).toBe(false);
  });
});
