// cqueue's view of the queue: the default job and step tables, the `-o` keys of each, and --json.
import { JobStatus, JobType, type JobInfo, type StepInfo } from "../generated/crane/crane";
import { compressHostlist, formatDuration } from "../parse";
import { parseFormat, renderFormat, type FormatColumn } from "./format";
import { formatTime } from "./job-history";
import { jobJson, statusName, typeName, type JobJson } from "./json";
import { renderTable } from "./table";

/** `cqueue --json`. */
export interface QueueJson {
  ok: boolean;
  jobs: JobJson[];
}

export function queueJson(ok: boolean, jobs: JobInfo[]): QueueJson {
  return { ok, jobs: jobs.map(jobJson) };
}

/** Run time so far (or until the end) as `[D-]HH:MM:SS`; `-` before the start. */
export function elapsed(job: { status: JobStatus; startTime: number; endTime: number }, now = Date.now()): string {
  if (!job.startTime) return "-";
  if (job.status === JobStatus.Pending) return "-";
  const end = job.endTime || now;
  return formatDuration(Math.max(0, Math.floor((end - job.startTime) / 1000)));
}

export function timeLimit(seconds: number): string {
  return seconds ? formatDuration(seconds) : "unlimited";
}

const cpus = (n: number) => String(+n.toFixed(2));
const mebibytes = (bytes: number) => (bytes ? `${Math.round(bytes / 1048576)}M` : "0");
const nodeCount = (j: JobInfo) => j.nodeNum || j.nodes.length || 1;
const nodeListOrReason = (j: JobInfo) => (j.status === JobStatus.Pending ? j.pendingReason : compressHostlist(j.nodes) || j.reason);

/** The keys of `cqueue -o`; the context of a value is the current time (ms). */
export const JOB_COLUMNS: FormatColumn<JobInfo, number>[] = [
  { letter: "j", name: "jobid", value: (j) => jobLabel(j) },
  { letter: "n", name: "name", value: (j) => j.name },
  { letter: "u", name: "user", value: (j) => j.username },
  { letter: "U", name: "uid", value: (j) => String(j.uid) },
  { letter: "a", name: "account", value: (j) => j.account },
  { letter: "P", name: "partition", value: (j) => j.partition },
  { letter: "q", name: "qos", value: (j) => j.qos },
  { letter: "T", name: "jobtype", value: (j) => typeName(j.type) },
  { letter: "t", name: "state", value: (j) => statusName(j.status) },
  { letter: "R", name: "reason", value: (j) => (j.status === JobStatus.Pending ? j.pendingReason : j.reason) },
  { letter: "p", name: "priority", value: (j) => String(j.priority) },
  { letter: "h", name: "held", value: (j) => String(j.held) },
  { letter: "X", name: "exclusive", value: (j) => String(j.exclusive) },
  { letter: "e", name: "elapsedtime", value: (j, now) => elapsed(j, now) },
  { letter: "l", name: "timelimit", value: (j) => timeLimit(j.timeLimitSeconds) },
  { letter: "s", name: "submittime", value: (j) => formatTime(j.submitTime) },
  { letter: "S", name: "starttime", value: (j) => formatTime(j.startTime) },
  { letter: "N", name: "nodenum", value: (j) => String(j.nodeNum) },
  { letter: "L", name: "nodelist", value: (j) => nodeListOrReason(j) },
  { letter: "r", name: "reqnodes", value: (j) => compressHostlist(j.reqNodes) },
  { letter: "x", name: "excludenodes", value: (j) => compressHostlist(j.excludeNodes) },
  { letter: "c", name: "alloccpus", value: (j) => cpus((j.allocPerNode?.cpu ?? 0) * nodeCount(j)) },
  { letter: "C", name: "reqcpus", value: (j) => cpus((j.reqPerNode?.cpu ?? 0) * nodeCount(j)) },
  { letter: "Q", name: "reqcpupertask", value: (j) => cpus(j.cpusPerTask) },
  { letter: "m", name: "allocmempernode", value: (j) => mebibytes(j.allocPerNode?.memoryBytes ?? 0) },
  { letter: "M", name: "reqmempernode", value: (j) => mebibytes(j.reqPerNode?.memoryBytes ?? 0) },
  { letter: "o", name: "command", value: (j) => j.cmdLine },
];

export interface StepRow {
  job: JobInfo;
  step: StepInfo;
}

/** The keys of `cqueue -s -o`. */
export const STEP_COLUMNS: FormatColumn<StepRow, number>[] = [
  { letter: "i", name: "stepid", value: ({ job, step }) => `${job.jobId}.${step.stepId}` },
  { letter: "j", name: "jobid", value: ({ job }) => String(job.jobId) },
  { letter: "n", name: "name", value: ({ step }) => step.name },
  { letter: "u", name: "user", value: ({ job }) => job.username },
  { letter: "U", name: "uid", value: ({ job }) => String(job.uid) },
  { letter: "a", name: "account", value: ({ job }) => job.account },
  { letter: "q", name: "qos", value: ({ job }) => job.qos },
  { letter: "P", name: "partition", value: ({ job }) => job.partition },
  { letter: "t", name: "state", value: ({ step }) => statusName(step.status) },
  { letter: "e", name: "elapsedtime", value: ({ step }, now) => (step.status === JobStatus.Running ? elapsed(step, now) : "-") },
  { letter: "l", name: "timelimit", value: ({ step }) => timeLimit(step.timeLimitSeconds) },
  { letter: "N", name: "nodenum", value: ({ step }) => String(step.nodes.length) },
  { letter: "L", name: "nodelist", value: ({ step }) => compressHostlist(step.nodes) },
  { letter: "o", name: "command", value: ({ step }) => step.cmdLine },
];

export interface QueueViewOptions {
  noHeader: boolean;
  /** Do not cut long cells (the default table only). */
  full: boolean;
  format?: string;
  now?: number;
}

const TRIM_AT = 30;

function table(headers: string[], rows: string[][], opts: QueueViewOptions): string {
  return renderTable(headers, rows, { noHeader: opts.noHeader, trimAt: opts.full ? undefined : TRIM_AT }).trimEnd();
}

/** Checks a `-o` string before anything is queried (exit 5 on an unknown key). */
export function checkQueueFormat(format: string, steps: boolean): void {
  if (steps) parseFormat(format, STEP_COLUMNS);
  else parseFormat(format, JOB_COLUMNS);
}

/** Rows that stand for several pending tasks of one array (`12_[5-100]`), by their first task's record. */
const foldedLabels = new WeakMap<JobInfo, string>();

/** How cqueue names a job: `12`, an array task `12_5`, or pending tasks folded into one row `12_[5-9,20]`. */
export function jobLabel(j: JobInfo): string {
  return foldedLabels.get(j) ?? (j.array ? `${j.array.arrayJobId}_${j.array.taskId}` : String(j.jobId));
}

/** `1,2,3,5,7-9` style ranges of sorted ids. */
function idRanges(ids: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length;) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(j > i ? `${ids[i]}-${ids[j]}` : String(ids[i]));
    i = j + 1;
  }
  return parts.join(",");
}

/** Pending tasks of an array that wait for the same reason become one row, as Slurm's squeue shows them. */
export function foldPendingArrays(jobs: JobInfo[]): JobInfo[] {
  const groups = new Map<string, JobInfo[]>();
  const out: JobInfo[] = [];
  for (const j of jobs) {
    if (!j.array || j.status !== JobStatus.Pending) {
      out.push(j);
      continue;
    }
    const key = `${j.array.arrayJobId}:${j.pendingReason}`;
    const group = groups.get(key);
    if (group) group.push(j);
    else {
      groups.set(key, [j]);
      out.push(j);
    }
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const ids = group.map((j) => j.array!.taskId).sort((a, b) => a - b);
    foldedLabels.set(group[0]!, `${group[0]!.array!.arrayJobId}_[${idRanges(ids)}]`);
  }
  return out;
}

export function renderJobs(all: JobInfo[], opts: QueueViewOptions): string {
  const now = opts.now ?? Date.now();
  const jobs = foldPendingArrays(all);
  if (opts.format !== undefined) return renderFormat(parseFormat(opts.format, JOB_COLUMNS), jobs, now, opts);
  const rows = jobs.map((j) => [
    jobLabel(j),
    j.partition,
    j.name,
    j.username,
    j.account,
    statusName(j.status),
    JobType[j.type] ?? "",
    j.status === JobStatus.Running ? elapsed(j, now) : "-",
    timeLimit(j.timeLimitSeconds),
    String(j.nodeNum),
    nodeListOrReason(j),
  ]);
  const headers = ["JOBID", "PARTITION", "NAME", "USER", "ACCOUNT", "STATUS", "TYPE", "TIME", "TIMELIMIT", "NODES", "NODELIST/REASON"];
  return table(headers, rows, opts);
}

/** The steps of the jobs (the pod, step 0, of container jobs included); `wanted`: only these steps of a job. */
export function stepRows(jobs: JobInfo[], wanted: Map<number, number[]>): StepRow[] {
  return jobs.flatMap((job) =>
    job.steps
      .filter((s) => s.stepId !== 0 || job.type === JobType.Container)
      .filter((s) => !wanted.get(job.jobId)?.length || wanted.get(job.jobId)!.includes(s.stepId))
      .sort((a, b) => a.stepId - b.stepId)
      .map((step) => ({ job, step })),
  );
}

export function renderSteps(rows: StepRow[], opts: QueueViewOptions): string {
  const now = opts.now ?? Date.now();
  if (opts.format !== undefined) return renderFormat(parseFormat(opts.format, STEP_COLUMNS), rows, now, opts);
  const cells = rows.map(({ job, step }) => [
    `${job.jobId}.${step.stepId}`,
    step.name,
    job.partition,
    job.username,
    statusName(step.status),
    step.status === JobStatus.Running ? elapsed(step, now) : "-",
    compressHostlist(step.nodes),
  ]);
  return table(["STEPID", "NAME", "PARTITION", "USER", "STATE", "TIME", "NODELIST"], cells, opts);
}
