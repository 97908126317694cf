// Processes of a test cluster, seen from outside: killing a daemon as a crash would, and finding what runs for it.
import fs from "node:fs";
import { processGone, waitFor } from "./cluster";

/** SIGKILL, then waits until the process is gone (or a zombie). */
export async function kill9(pid: number): Promise<void> {
  process.kill(pid, "SIGKILL");
  await waitFor(`pid ${pid} to die`, () => processGone(pid), 5_000);
}

/** SIGTERM, then waits until the process has exited. */
export async function terminate(pid: number, timeoutMs = 15_000): Promise<void> {
  process.kill(pid, "SIGTERM");
  await waitFor(`pid ${pid} to exit on SIGTERM`, () => processGone(pid), timeoutMs);
}

/** The pid in a "pid starttime" file (core/node/process-identity.ts). */
export function pidIn(file: string): number {
  return Number(fs.readFileSync(file, "utf8").split(" ")[0]);
}

export interface ProcessView {
  pid: number;
  /** Command line, arguments joined by spaces. */
  cmdline: string;
  /** /proc/PID/cgroup. */
  cgroups: string;
  /** Where its stdout points (a daemon's log file). */
  stdout: string;
}

/** Every live process but this one (zombies left out: they run nothing). */
export function listProcesses(): ProcessView[] {
  const views: ProcessView[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (/\) Z /.test(fs.readFileSync(`/proc/${entry}/stat`, "utf8"))) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      const cgroups = fs.readFileSync(`/proc/${entry}/cgroup`, "utf8");
      let stdout = "";
      try {
        stdout = fs.readlinkSync(`/proc/${entry}/fd/1`);
      } catch {
        // no stdout
      }
      views.push({ pid: Number(entry), cmdline, cgroups, stdout });
    } catch {
      // exited meanwhile
    }
  }
  return views;
}
