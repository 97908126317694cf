// A job as accounting sees it (cacct): one flat row. The store keeps it in indexed columns for finished jobs;
// active jobs get the same row from memory. Also the filters of a history query, applied to such a row.
import type { JobHistoryEntry, JobStatus } from "../../core/generated/crane/crane";
import type { JobRecord } from "./records";

/** Unix ms, both ends inclusive; 0 leaves that end open. A job without that time (0) is never in a window. */
export interface TimeRange {
  from: number;
  to: number;
}

export interface HistoryFilter {
  jobIds: number[];
  users: string[];
  accounts: string[];
  states: JobStatus[];
  partitions: string[];
  names: string[];
  submitTime?: TimeRange;
  startTime?: TimeRange;
  endTime?: TimeRange;
  /** Only this user's jobs (a caller whom CraneCtld.PrivateData keeps to their own). */
  ownerUid?: number;
}

/** Peak memory (the largest of any step on any node) and CPU time (all steps on all nodes) of a job. */
export function jobUsage(job: Pick<JobRecord, "steps">): { maxRssBytes: number; cpuTimeUsec: number } {
  let maxRssBytes = 0;
  let cpuTimeUsec = 0;
  for (const step of job.steps ?? []) {
    for (const n of Object.values(step.perNode ?? {})) {
      maxRssBytes = Math.max(maxRssBytes, n.maxRssBytes ?? 0);
      cpuTimeUsec += n.cpuTimeUsec ?? 0;
    }
  }
  return { maxRssBytes, cpuTimeUsec };
}

function allocCpus(job: JobRecord): number {
  const nodes = job.nodes ?? [];
  if (job.allocByNode) return nodes.reduce((sum, n) => sum + (job.allocByNode?.[n]?.cpu ?? 0), 0);
  return (job.allocPerNode?.cpu ?? 0) * nodes.length;
}

/** The row of a job record (tolerant of records saved before a field existed). */
export function historyRow(job: JobRecord): JobHistoryEntry {
  const spec = job.spec ?? {};
  return {
    jobId: job.jobId,
    name: spec.name ?? "",
    uid: spec.uid ?? 0,
    username: job.username ?? "",
    account: spec.account ?? "",
    partition: spec.partition ?? "",
    qos: spec.qos ?? "",
    type: spec.type ?? 0,
    status: job.status,
    exitCode: job.exitCode ?? 0,
    reason: job.reason ?? "",
    nodes: job.nodes ?? [],
    allocCpus: allocCpus(job),
    submitTime: job.submitTime ?? 0,
    startTime: job.startTime ?? 0,
    endTime: job.endTime ?? 0,
    ...jobUsage(job),
  };
}

export function inRange(t: number, r: TimeRange | undefined): boolean {
  if (!r) return true;
  return t > 0 && (!r.from || t >= r.from) && (!r.to || t <= r.to);
}

/** Whether the row passes the filter: every given list contains the row's value, every window its time. */
export function matchesHistory(e: JobHistoryEntry, f: HistoryFilter): boolean {
  const hasOrEmpty = <T>(list: T[], v: T) => list.length === 0 || list.includes(v);
  return (
    (f.ownerUid === undefined || e.uid === f.ownerUid) &&
    hasOrEmpty(f.jobIds, e.jobId) &&
    hasOrEmpty(f.users, e.username) &&
    hasOrEmpty(f.accounts, e.account) &&
    hasOrEmpty(f.states, e.status) &&
    hasOrEmpty(f.partitions, e.partition) &&
    hasOrEmpty(f.names, e.name) &&
    inRange(e.submitTime, f.submitTime) &&
    inRange(e.startTime, f.startTime) &&
    inRange(e.endTime, f.endTime)
  );
}

/** History order: jobs still running (no end time) first, then the most recently ended; ties by job id, newest first. */
export function historyOrder(a: JobHistoryEntry, b: JobHistoryEntry): number {
  const endA = a.endTime || Number.MAX_SAFE_INTEGER;
  const endB = b.endTime || Number.MAX_SAFE_INTEGER;
  return endB - endA || b.jobId - a.jobId;
}
