// Bounds that keep one user or one request from stalling ctld (design.md, "Who is trusted": every request is
// bounded). Pure checks: each throws a Rejection (answered in the reply with an ErrCode) or, for a query, a
// QueryRejection (answered as gRPC INVALID_ARGUMENT), and every message names the limit, the value asked and the
// config key that changes it. Root (uid 0) is exempt from the per-user limits.
//
//   submitJob   checkJobSubmission: spec size, tasks per node, MaxSubmitJobsPerUser
//   submitStep  checkStepSubmission: spec size, tasks per node
//   SubmitBatchJobs  checkBatchSubmission: MaxJobsPerSubmit, the batch's total size, MaxSubmitJobsPerUser for the lot
//   queries     checkQueryItems: every list field <= MaxQueryItems
//   scheduler   scheduleUnderUserLimit: MaxJobsPerUser (jobs beyond it stay Pending, QOSMaxJobsPerUserLimit)
import * as grpc from "@grpc/grpc-js";
import type { CtldLimits } from "../../core/config-limits";
import type { CraneConfig } from "../../core/config";
import { ErrCode, JobStatus, JobType, type JobSpec, type StepSpec } from "../../core/generated/crane/crane";
import type { JobRecord } from "./records";
import { Rejection } from "./rejection";
import type { ScheduleResult, Snapshot } from "./scheduler";

/** The pending reason of a job held back by CraneCtld.MaxJobsPerUser (Slurm's name for it). */
export const USER_RUN_LIMIT_REASON = "QOSMaxJobsPerUserLimit";

/** A SubmitBatchJobs request may store at most this many times MaxSpecBytes in all (count x spec size). */
export const BATCH_BYTES_FACTOR = 64;

/** A query refused for its size: a gRPC INVALID_ARGUMENT (queries have no ErrCode in their reply). */
export class QueryRejection extends Error {
  readonly code = grpc.status.INVALID_ARGUMENT;
  get details(): string {
    return this.message;
  }
}

const exempt = (uid: number) => uid === 0;

function human(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / 1024 / 1024).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(2)} KiB`;
  return `${bytes} B`;
}

const sizes = new WeakMap<object, number>();

/**
 * The bytes a job's or step's specification costs ctld (in memory and on disk, where it is stored as JSON): the
 * script, environment, arguments, command line, container and pod settings and every other field. Remembered per
 * object, so the copies of one SubmitBatchJobs request are measured once.
 */
export function specBytes(spec: JobSpec | StepSpec): number {
  let n = sizes.get(spec);
  if (n === undefined) {
    n = Buffer.byteLength(JSON.stringify(spec));
    sizes.set(spec, n);
  }
  return n;
}

export function checkSpecSize(spec: JobSpec | StepSpec, limits: CtldLimits, what: "job" | "step"): void {
  const n = specBytes(spec);
  if (n > limits.maxSpecBytes) {
    throw new Rejection(
      ErrCode.ERR_INVALID_PARAM,
      `the ${what}'s specification (script, environment, arguments, container settings) is ${human(n)} (${n} bytes); ` +
        `the limit is ${human(limits.maxSpecBytes)} (CraneCtld.MaxSpecBytes)`,
    );
  }
}

/** CPUs of the largest of these nodes (all configured nodes when none are named). */
export function largestNodeCpu(config: Pick<CraneConfig, "nodes">, nodeNames?: readonly string[]): number {
  const names = nodeNames && nodeNames.length ? new Set(nodeNames) : undefined;
  let max = 0;
  for (const n of config.nodes) if (!names || names.has(n.name)) max = Math.max(max, n.cpu);
  return max;
}

/** largestNodeCpu of a partition, kept with the partition (its nodes do not change while ctld runs). */
const largestCpuOfPartition = new WeakMap<object, number>();
function largestPartitionCpu(config: Pick<CraneConfig, "nodes">, partition: CraneConfig["partitions"][0] | undefined): number {
  if (!partition) return largestNodeCpu(config);
  let cpu = largestCpuOfPartition.get(partition);
  if (cpu === undefined) largestCpuOfPartition.set(partition, (cpu = largestNodeCpu(config, partition.nodes)));
  return cpu;
}

/** More tasks on a node than the largest node has CPUs: refused unless CraneCtld.AllowTaskOversubscription. */
export function checkTasksPerNode(ntasksPerNode: number, largestCpu: number, limits: CtldLimits, what: "job" | "step"): void {
  if (limits.allowTaskOversubscription || largestCpu <= 0 || ntasksPerNode <= largestCpu) return;
  throw new Rejection(
    ErrCode.ERR_INVALID_PARAM,
    `the ${what} asks for ${ntasksPerNode} tasks per node but the largest node has ${largestCpu} CPUs: ` +
      `ask for fewer tasks per node or more nodes (an administrator may allow it with CraneCtld.AllowTaskOversubscription: true)`,
  );
}

/** MaxSubmitJobsPerUser: `active` jobs the user has, `adding` more asked for. */
export function checkSubmitJobsPerUser(uid: number, active: number, adding: number, limits: CtldLimits): void {
  const max = limits.maxSubmitJobsPerUser;
  if (!max || exempt(uid) || active + adding <= max) return;
  throw new Rejection(
    ErrCode.ERR_INVALID_PARAM,
    `uid ${uid} has ${active} active jobs; ${adding === 1 ? "one more" : `${adding} more`} would exceed the limit of ${max} ` +
      `jobs per user (CraneCtld.MaxSubmitJobsPerUser): wait for some to finish`,
  );
}

/** What one job submission may not exceed (before the JobManager admits it). */
export function checkJobSubmission(spec: JobSpec, caller: { uid: number }, config: CraneConfig, activeOfCaller: number): void {
  const limits = config.limits;
  checkSpecSize(spec, limits, "job");
  checkPty(spec);
  const nodeNum = spec.nodeNum || 1;
  const ntasksPerNode = spec.ntasksPerNode || Math.ceil((spec.ntasks || nodeNum) / nodeNum);
  const partition = config.partitions.find((p) => p.name === (spec.partition || config.defaultPartition));
  checkTasksPerNode(ntasksPerNode, largestPartitionCpu(config, partition), limits, "job");
  checkSubmitJobsPerUser(caller.uid, activeOfCaller, 1, limits);
  const dependencyIds = spec.dependencies.reduce((n, d) => n + d.jobIds.length, 0);
  if (dependencyIds > limits.maxQueryItems || spec.dependencies.length > limits.maxQueryItems) {
    throw new Rejection(
      ErrCode.ERR_INVALID_PARAM,
      `a dependency on ${dependencyIds} jobs exceeds the limit of ${limits.maxQueryItems} (CraneCtld.MaxQueryItems)`,
    );
  }
}

/** What one step submission may not exceed; `jobNodes` are the nodes of its job. */
export function checkStepSubmission(spec: StepSpec, config: CraneConfig, jobNodes: readonly string[]): void {
  const limits = config.limits;
  checkSpecSize(spec, limits, "step");
  checkPty(spec);
  const nodes = spec.nodeNum || (spec.nodelist.length ? spec.nodelist.length : Math.max(1, jobNodes.length));
  const ntasksPerNode = spec.ntasksPerNode || (spec.ntasks ? Math.ceil(spec.ntasks / nodes) : 0);
  checkTasksPerNode(ntasksPerNode, largestNodeCpu(config, jobNodes), limits, "step");
}

/** A pseudo-terminal is for a crun command (a process step): a batch script or a container has its own ways. */
function checkPty(spec: JobSpec | StepSpec): void {
  if (spec.pty && (spec.type !== JobType.Interactive || spec.containerMeta || spec.argv.length === 0)) {
    throw new Rejection(ErrCode.ERR_INVALID_PARAM, "pty is only for a crun command (crun --pty); a container gets a terminal with ccon run -it");
  }
}

/** An array as a whole: its task count against MaxJobsPerSubmit and the user's room for active jobs. */
export function checkArraySubmission(tasks: number, caller: { uid: number }, limits: CtldLimits, activeOfCaller: number): void {
  if (tasks > limits.maxJobsPerSubmit) {
    throw new Rejection(
      ErrCode.ERR_INVALID_PARAM,
      `an array of ${tasks} tasks exceeds the limit of ${limits.maxJobsPerSubmit} (CraneCtld.MaxJobsPerSubmit): split it into several arrays`,
    );
  }
  checkSubmitJobsPerUser(caller.uid, activeOfCaller, tasks, limits);
}

/** A SubmitBatchJobs request as a whole: how many copies, how many bytes in all, and the user's active jobs. */
export function checkBatchSubmission(spec: JobSpec, count: number, caller: { uid: number }, limits: CtldLimits, activeOfCaller: number): void {
  if (count > limits.maxJobsPerSubmit) {
    throw new Rejection(
      ErrCode.ERR_INVALID_PARAM,
      `${count} jobs in one submission exceed the limit of ${limits.maxJobsPerSubmit} (CraneCtld.MaxJobsPerSubmit): submit them in several requests`,
    );
  }
  const total = count * specBytes(spec);
  const maxTotal = BATCH_BYTES_FACTOR * limits.maxSpecBytes;
  if (count > 1 && total > maxTotal) {
    throw new Rejection(
      ErrCode.ERR_INVALID_PARAM,
      `${count} copies of a ${human(specBytes(spec))} job specification are ${human(total)}; one submission may store at most ` +
        `${human(maxTotal)} (${BATCH_BYTES_FACTOR} x CraneCtld.MaxSpecBytes): submit fewer copies or a smaller script or environment`,
    );
  }
  checkSubmitJobsPerUser(caller.uid, activeOfCaller, count, limits);
}

/**
 * Every list in a request (and the step ids of its job selectors) holds at most CraneCtld.MaxQueryItems entries.
 * `what` names the request in the message (e.g. "QueryJobsInfo").
 */
export function checkQueryItems(req: object, limits: CtldLimits, what: string): void {
  const max = limits.maxQueryItems;
  for (const [key, value] of Object.entries(req)) {
    if (!Array.isArray(value)) continue;
    let n = value.length;
    for (const v of value)
      if (v && typeof v === "object" && Array.isArray((v as { stepIds?: unknown }).stepIds)) n += (v as { stepIds: unknown[] }).stepIds.length;
    if (n > max) {
      throw new QueryRejection(`${what}: ${key} has ${n} entries; the limit is ${max} (CraneCtld.MaxQueryItems): narrow the query or split it`);
    }
  }
}

const RUNNING = new Set([JobStatus.Configuring, JobStatus.Starting, JobStatus.Running]);

/** Jobs per uid that count against MaxJobsPerUser (Configuring, Starting, Running). */
export function runningPerUser(jobs: Iterable<JobRecord>): Map<number, number> {
  const out = new Map<number, number>();
  for (const j of jobs) if (RUNNING.has(j.status)) out.set(j.spec.uid, (out.get(j.spec.uid) ?? 0) + 1);
  return out;
}

export interface LimitedSchedule extends Omit<ScheduleResult, "pending"> {
  /** As the scheduler's, plus USER_RUN_LIMIT_REASON for the jobs the limit held back. */
  pending: Map<number, string>;
  /** Placements were dropped for the limit: other jobs may fit in what they would have used, so schedule again. */
  again: boolean;
}

/**
 * Runs the scheduler (`run`) under CraneCtld.MaxJobsPerUser. The pending jobs of a user who has reached the limit
 * are not offered to it; of its placements, those beyond a user's remaining room are dropped (the scheduler places
 * in priority order, so a user's highest-priority jobs start). Held jobs are offered as ever (they stay Held).
 */
export function scheduleUnderUserLimit(
  snapshot: Snapshot,
  jobs: ReadonlyMap<number, JobRecord>,
  maxJobsPerUser: number,
  run: (s: Snapshot) => ScheduleResult,
): LimitedSchedule {
  if (!maxJobsPerUser) return { ...run(snapshot), again: false };
  const room = new Map<number, number>();
  for (const [uid, n] of runningPerUser(jobs.values())) room.set(uid, maxJobsPerUser - n);
  const uidOf = (jobId: number) => jobs.get(jobId)?.spec.uid ?? 0;
  const limited: number[] = [];
  const offered = snapshot.pending.filter((p) => {
    const uid = uidOf(p.jobId);
    if (p.held || exempt(uid) || (room.get(uid) ?? maxJobsPerUser) > 0) return true;
    limited.push(p.jobId);
    return false;
  });
  const result = run(offered.length === snapshot.pending.length ? snapshot : { ...snapshot, pending: offered });
  const pending = new Map<number, string>(result.pending);
  for (const id of limited) pending.set(id, USER_RUN_LIMIT_REASON);
  const placements = result.placements.filter((p) => {
    const uid = uidOf(p.jobId);
    if (exempt(uid)) return true;
    const left = room.get(uid) ?? maxJobsPerUser;
    if (left <= 0) {
      pending.set(p.jobId, USER_RUN_LIMIT_REASON);
      return false;
    }
    room.set(uid, left - 1);
    return true;
  });
  return { ...result, placements, pending, again: placements.length < result.placements.length };
}

export interface QuerySets {
  jobIds: Set<number>;
  states: Set<number>;
  users: Set<string>;
  partitions: Set<string>;
  names: Set<string>;
  types: Set<number>;
  nodes: Set<string>;
}

const querySetCache = new WeakMap<object, QuerySets>();

/**
 * A query's lists as sets, made once per request: matching every queued job against lists of up to MaxQueryItems
 * entries then costs a lookup per list, not a scan of it (100,000 jobs x 10,000 ids would stall ctld for seconds).
 */
export function querySets(q: {
  jobIds: { jobId: number }[];
  states: number[];
  users: string[];
  partitions: string[];
  names: string[];
  types: number[];
  nodes: string[];
}): QuerySets {
  let s = querySetCache.get(q);
  if (!s) {
    s = {
      jobIds: new Set(q.jobIds.map((j) => j.jobId)),
      states: new Set(q.states),
      users: new Set(q.users),
      partitions: new Set(q.partitions),
      names: new Set(q.names),
      types: new Set(q.types),
      nodes: new Set(q.nodes),
    };
    querySetCache.set(q, s);
  }
  return s;
}

/** The largest message ctld's public server accepts: 8 MiB, or room for one spec of CraneCtld.MaxSpecBytes if larger. */
export function publicMaxReceiveBytes(limits: CtldLimits): number {
  return Math.max(8 * 1024 * 1024, limits.maxSpecBytes + 1024 * 1024);
}
