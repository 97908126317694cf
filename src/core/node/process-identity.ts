// A process known by pid and start time, so that a recycled pid is never taken for the process it replaced:
// craned recognises its node's supervisor this way, and the supervisor the per-step shims.
import fs from "node:fs";

export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot at which the process started. */
  startTime: number;
}

/** The start time of a live, non-zombie process, or undefined. */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return undefined; // finished, not yet reaped
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** The parent's pid of a live process, or undefined. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

export function identify(pid: number): ProcessIdentity | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/** True while the very process `who` names is alive. */
export function isAlive(who: ProcessIdentity | undefined): boolean {
  return who !== undefined && processStartTime(who.pid) === who.startTime;
}

/** Writes "pid startTime" (whole, by rename). */
export function writeIdentityFile(file: string, who: ProcessIdentity): void {
  fs.writeFileSync(`${file}.tmp`, `${who.pid} ${who.startTime}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function readIdentityFile(file: string): ProcessIdentity | undefined {
  try {
    const [pid, startTime] = fs.readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
    if (!Number.isInteger(pid) || pid! <= 0 || !Number.isFinite(startTime)) return undefined;
    return { pid: pid!, startTime: startTime! };
  } catch {
    return undefined;
  }
}

/** Sends `signal` to the process (or, with `group`, its process group) only if it is still the one named. */
export function signalIdentified(who: ProcessIdentity | undefined, signal: NodeJS.Signals, group = false): boolean {
  if (!isAlive(who)) return false;
  try {
    process.kill(group ? -who!.pid : who!.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Signals the process group of the child whose pid `parent` wrote to `pidFile` (a task, written by its shim), only
 * while `parent` is alive and that pid is still its child: a recycled pid is never hit. "unwritten": the parent is
 * alive but has not written the pid yet.
 */
export function signalChildGroup(parent: ProcessIdentity | undefined, pidFile: string, signal: NodeJS.Signals): "signalled" | "unwritten" | "gone" {
  if (!isAlive(parent)) return "gone";
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  } catch {
    return "unwritten";
  }
  if (!Number.isInteger(pid) || pid <= 0) return "unwritten";
  if (parentPid(pid) !== parent!.pid) return "gone";
  try {
    process.kill(-pid, signal);
    return "signalled";
  } catch {
    // Just started, the task may not be its own group's leader yet (setsid runs after the pid file is written):
    // then it is signalled alone, and nothing else can be in its group yet.
    try {
      process.kill(pid, signal);
      return "signalled";
    } catch {
      return "gone";
    }
  }
}
