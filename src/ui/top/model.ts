// What `crane top` shows, as plain data: which jobs pass the filters, in which order, and the text of each cell.
// No React here: the components render these rows, the non-TTY snapshot prints them, and unit tests check them.
import { JobStatus, JobType, type JobInfo, type NodeInfo, type StepInfo } from "../../core/generated/crane/crane";
import { isTerminal } from "../../core/job-state";
import { formatDuration } from "../../core/parse";

export type StateFilter = "active" | "pending" | "running" | "ended" | "all";
export const STATE_FILTERS: StateFilter[] = ["active", "pending", "running", "ended", "all"];

export type SortKey = "id" | "name" | "user" | "partition" | "state" | "time";
export const SORT_KEYS: SortKey[] = ["id", "name", "user", "partition", "state", "time"];

export interface JobFilter {
  /** Only this user's jobs (undefined = everybody's). */
  user?: string;
  state: StateFilter;
  /** Only these job types (empty = all): `ccon top` shows container jobs. */
  types?: JobType[];
  partition?: string;
}

export interface JobSort {
  key: SortKey;
  descending: boolean;
}

const RUNNING_LIKE = new Set([JobStatus.Configuring, JobStatus.Starting, JobStatus.Running, JobStatus.Completing]);

export function passes(job: JobInfo, f: JobFilter): boolean {
  if (f.user !== undefined && job.username !== f.user) return false;
  if (f.types?.length && !f.types.includes(job.type)) return false;
  if (f.partition && job.partition !== f.partition) return false;
  switch (f.state) {
    case "active":
      return !isTerminal(job.status);
    case "pending":
      return job.status === JobStatus.Pending;
    case "running":
      return RUNNING_LIKE.has(job.status);
    case "ended":
      return isTerminal(job.status);
    default:
      return true;
  }
}

/** Order of states in the "state" sort: what needs attention first. */
const STATE_ORDER: Record<number, number> = {
  [JobStatus.Running]: 0,
  [JobStatus.Starting]: 1,
  [JobStatus.Configuring]: 2,
  [JobStatus.Completing]: 3,
  [JobStatus.Pending]: 4,
  [JobStatus.Failed]: 5,
  [JobStatus.OutOfMemory]: 6,
  [JobStatus.ExceedTimeLimit]: 7,
  [JobStatus.Cancelled]: 8,
  [JobStatus.Completed]: 9,
};

function compare(a: JobInfo, b: JobInfo, key: SortKey, now: number): number {
  switch (key) {
    case "name":
      return a.name.localeCompare(b.name) || a.jobId - b.jobId;
    case "user":
      return a.username.localeCompare(b.username) || a.jobId - b.jobId;
    case "partition":
      return a.partition.localeCompare(b.partition) || a.jobId - b.jobId;
    case "state":
      return (STATE_ORDER[a.status] ?? 99) - (STATE_ORDER[b.status] ?? 99) || a.jobId - b.jobId;
    case "time":
      return elapsedMs(a, now) - elapsedMs(b, now) || a.jobId - b.jobId;
    default:
      return a.jobId - b.jobId;
  }
}

/** The jobs to list, filtered and sorted. */
export function selectJobs(jobs: Iterable<JobInfo>, f: JobFilter, sort: JobSort, now: number): JobInfo[] {
  const out: JobInfo[] = [];
  for (const j of jobs) if (passes(j, f)) out.push(j);
  out.sort((a, b) => compare(a, b, sort.key, now));
  if (sort.descending) out.reverse();
  return out;
}

export interface Counts {
  total: number;
  pending: number;
  running: number;
  ended: number;
}

export function countJobs(jobs: Iterable<JobInfo>): Counts {
  const c: Counts = { total: 0, pending: 0, running: 0, ended: 0 };
  for (const j of jobs) {
    c.total++;
    if (j.status === JobStatus.Pending) c.pending++;
    else if (RUNNING_LIKE.has(j.status)) c.running++;
    else c.ended++;
  }
  return c;
}

export function elapsedMs(j: { status: JobStatus; startTime: number; endTime: number }, now: number): number {
  if (!j.startTime || j.status === JobStatus.Pending) return 0;
  return Math.max(0, (j.endTime || now) - j.startTime);
}

export function timeCell(j: JobInfo | StepInfo, now: number): string {
  const limit = "timeLimitSeconds" in j && j.timeLimitSeconds ? formatDuration(j.timeLimitSeconds) : "unlimited";
  const el = j.startTime && j.status !== JobStatus.Pending ? formatDuration(elapsedMs(j, now) / 1000) : "-";
  return `${el} / ${limit}`;
}

/** Nodes for a running job, the pending reason for a pending one, the end reason for an ended one. */
export function whereCell(j: JobInfo): string {
  if (j.status === JobStatus.Pending) return `(${j.pendingReason || "Priority"})`;
  if (isTerminal(j.status)) return j.reason ? `${j.nodes.join(",")} (${j.reason})`.trim() : j.nodes.join(",");
  return j.nodes.join(",");
}

export function stateName(s: JobStatus): string {
  return JobStatus[s] ?? String(s);
}

/** Ink colour names per state. */
export function stateColor(s: JobStatus): string {
  switch (s) {
    case JobStatus.Pending:
      return "yellow";
    case JobStatus.Configuring:
    case JobStatus.Starting:
      return "cyan";
    case JobStatus.Running:
      return "green";
    case JobStatus.Completing:
      return "blue";
    case JobStatus.Completed:
      return "gray";
    case JobStatus.Cancelled:
      return "magenta";
    default:
      return "red";
  }
}

export const JOB_COLUMNS = ["JOBID", "NAME", "USER", "PARTITION", "STATE", "TIME / LIMIT", "NODES / REASON"] as const;
export const JOB_WIDTHS = [8, 16, 10, 10, 12, 24, 0] as const; // 0 = the rest of the line

export function jobCells(j: JobInfo, now: number): string[] {
  return [String(j.jobId), j.name, j.username, j.partition, stateName(j.status), timeCell(j, now), whereCell(j)];
}

export const STEP_COLUMNS = ["STEP", "NAME", "KIND", "STATE", "IMAGE", "NODES", "EXIT / REASON"] as const;
export const STEP_WIDTHS = [8, 14, 11, 12, 22, 14, 0] as const;

/** Steps as a user thinks of them: the pod (step 0) of a container job, then the containers and processes. */
export function visibleSteps(j: JobInfo): StepInfo[] {
  return [...j.steps].sort((a, b) => a.stepId - b.stepId);
}

export function stepKind(j: JobInfo, s: StepInfo): string {
  if (j.type === JobType.Container && s.stepId === 0) return "pod";
  if (s.containerMeta) return "container";
  if (j.type === JobType.Batch && s.stepId === 1) return "batch";
  return "process";
}

export function stepCells(j: JobInfo, s: StepInfo): string[] {
  const ended = isTerminal(s.status);
  const exit = ended ? `${s.exitCode}${s.reason ? ` (${s.reason})` : ""}` : s.reason;
  return [`${j.jobId}.${s.stepId}`, s.name, stepKind(j, s), stateName(s.status), s.containerMeta?.image?.image ?? "-", s.nodes.join(",") || "-", exit];
}

/** Fixed-width cell: cut with "…" or padded. */
export function fit(text: string, width: number): string {
  if (width <= 0) return text;
  if (text.length > width - 1) return `${text.slice(0, Math.max(0, width - 2))}… `;
  return text.padEnd(width);
}

// ------------------------------------------------------------------ nodes

export interface Usage {
  used: number;
  total: number;
}

export function nodeUsage(n: NodeInfo): { cpu: Usage; mem: Usage; gpu: Usage } {
  const gpu = { used: 0, total: 0 };
  for (const [k, v] of Object.entries(n.total?.gres ?? {})) {
    if (k !== "gpu" && !k.startsWith("gpu:")) continue;
    gpu.total += v;
    gpu.used += n.allocated?.gres[k] ?? 0;
  }
  return {
    cpu: { used: n.allocated?.cpu ?? 0, total: n.total?.cpu ?? 0 },
    mem: { used: n.allocated?.memoryBytes ?? 0, total: n.total?.memoryBytes ?? 0 },
    gpu,
  };
}

/** A bar like `████▌░░░░░` for used/total in `width` cells (eighths for the partial cell). */
export function bar(u: Usage, width: number): string {
  if (u.total <= 0) return " ".repeat(width);
  const frac = Math.min(1, Math.max(0, u.used / u.total));
  const eighths = Math.round(frac * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part ? "▏▎▍▌▋▊▉"[part - 1]! : "";
  return "█".repeat(full) + partial + "░".repeat(Math.max(0, width - full - (part ? 1 : 0)));
}

export function formatBytes(b: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}

export function usageText(u: Usage, kind: "cpu" | "mem" | "gpu"): string {
  if (kind === "mem") return `${formatBytes(u.used)}/${formatBytes(u.total)}`;
  if (u.total === 0) return "-";
  const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return `${num(u.used)}/${num(u.total)}`;
}

export function nodeStateColor(state: string): string {
  switch (state) {
    case "idle":
      return "green";
    case "mix":
      return "cyan";
    case "alloc":
      return "yellow";
    default:
      return "red";
  }
}

export function sortedNodes(nodes: Iterable<NodeInfo>): NodeInfo[] {
  return [...nodes].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}
