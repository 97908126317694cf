// The job and step lifecycle of the founding document, as data: which transitions are legal.
//
//   Pending -> Configuring -> Starting -> Running -> Completing -> Completed
//   Configuring|Starting -> Failed (startup)      Running -> Failed | Cancelled | ExceedTimeLimit | OutOfMemory
//   Pending -> Cancelled                           any active state -> Completing (ending) -> terminal
import { JobStatus } from "./generated/crane/crane";

export { JobStatus };

const TERMINAL = new Set<JobStatus>([JobStatus.Completed, JobStatus.Failed, JobStatus.ExceedTimeLimit, JobStatus.Cancelled, JobStatus.OutOfMemory]);

export function isTerminal(s: JobStatus): boolean {
  return TERMINAL.has(s);
}

const ENDINGS = [...TERMINAL];

const NEXT: Record<number, JobStatus[]> = {
  [JobStatus.Pending]: [JobStatus.Configuring, JobStatus.Cancelled, JobStatus.Failed],
  [JobStatus.Configuring]: [JobStatus.Starting, JobStatus.Running, JobStatus.Completing, JobStatus.Pending, ...ENDINGS],
  [JobStatus.Starting]: [JobStatus.Running, JobStatus.Completing, JobStatus.Pending, ...ENDINGS],
  [JobStatus.Running]: [JobStatus.Completing, JobStatus.Pending, ...ENDINGS],
  [JobStatus.Completing]: [...ENDINGS],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  if (from === to) return true;
  return (NEXT[from] ?? []).includes(to);
}

export class IllegalTransition extends Error {}

export function assertTransition(from: JobStatus, to: JobStatus, what: string): void {
  if (!canTransition(from, to)) {
    throw new IllegalTransition(`${what}: illegal transition ${JobStatus[from]} -> ${JobStatus[to]}`);
  }
}

/** How a finished process or container maps to a terminal status. */
export function statusFromExit(exitCode: number, signal: string | null, oomKilled: boolean): JobStatus {
  if (oomKilled) return JobStatus.OutOfMemory;
  if (signal || exitCode !== 0) return JobStatus.Failed;
  return JobStatus.Completed;
}

/** Of several nodes' terminal statuses for one step, the one the step reports (worst wins). */
export function combineTerminal(statuses: JobStatus[]): JobStatus {
  const rank = [JobStatus.Completed, JobStatus.Failed, JobStatus.OutOfMemory, JobStatus.Cancelled, JobStatus.ExceedTimeLimit];
  let worst = JobStatus.Completed;
  for (const s of statuses) if (rank.indexOf(s) > rank.indexOf(worst)) worst = s;
  return worst;
}
