// QueryJobHistory (cacct): finished jobs from the store's accounting indexes, with the active jobs from memory.
// Every field of the request is checked first; a bad one is refused with ERR_INVALID_PARAM naming it. A caller
// whom CraneCtld.PrivateData keeps to their own jobs (anyone but root and AdminUids) sees only those.
import { ErrCode, JobStatus, type JobHistoryEntry, type QueryJobHistoryReply, type QueryJobHistoryRequest } from "../../core/generated/crane/crane";
import { isTerminal } from "../../core/job-state";
import type { CtldLimits } from "../../core/config-limits";
import { historyOrder, historyRow, matchesHistory, type HistoryFilter, type TimeRange } from "./history-rows";
import { checkQueryItems } from "./limits";
import { viewerOf } from "./privacy";
import type { JobRecord } from "./records";
import type { JobStore } from "./store";

export const DEFAULT_HISTORY_LIMIT = 1000;
export const MAX_HISTORY_LIMIT = 100_000;
/** Values in all lists together: each is one SQL parameter, and SQLite takes at most 32766 per statement. */
const MAX_FILTER_VALUES = 30_000;
const MAX_NAME_LENGTH = 256;

/** What answering needs of ctld. */
export interface HistorySource {
  config: { adminUids: readonly number[]; privateData: boolean; limits: CtldLimits };
  store: Pick<JobStore, "queryHistory">;
  jobs: Iterable<JobRecord>;
}

class InvalidRequest extends Error {}

function names(list: string[], field: string): string[] {
  for (const s of list) {
    if (typeof s !== "string" || s === "" || s.length > MAX_NAME_LENGTH) {
      throw new InvalidRequest(`${field}: every entry must be a non-empty name of at most ${MAX_NAME_LENGTH} characters`);
    }
  }
  return list;
}

function window(r: { from: number; to: number } | undefined, field: string): TimeRange | undefined {
  if (!r || (!r.from && !r.to)) return undefined;
  for (const [end, v] of [
    ["from", r.from],
    ["to", r.to],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidRequest(`${field}.${end}: ${v} is not a time (unix milliseconds, 0 = open)`);
  }
  if (r.from && r.to && r.from > r.to)
    throw new InvalidRequest(`${field}: from (${new Date(r.from).toISOString()}) is after to (${new Date(r.to).toISOString()})`);
  return { from: r.from, to: r.to };
}

/** The request as a filter and a limit, or InvalidRequest saying which field is wrong. */
export function historyFilterOf(req: QueryJobHistoryRequest, limits: CtldLimits): { filter: HistoryFilter; limit: number } {
  checkQueryItems(req, limits, "QueryJobHistory");
  const values = req.jobIds.length + req.users.length + req.accounts.length + req.states.length + req.partitions.length + req.names.length;
  if (values > MAX_FILTER_VALUES) throw new InvalidRequest(`the filter lists hold ${values} values together; the limit is ${MAX_FILTER_VALUES}`);
  for (const id of req.jobIds) if (!Number.isInteger(id) || id < 1) throw new InvalidRequest(`job_ids: ${id} is not a job id`);
  for (const s of req.states) {
    if (JobStatus[s] === undefined || s === JobStatus.UNRECOGNIZED) throw new InvalidRequest(`states: ${s} is not a job state`);
  }
  if (!Number.isInteger(req.limit) || req.limit < 0 || req.limit > MAX_HISTORY_LIMIT) {
    throw new InvalidRequest(`limit: ${req.limit} is out of range (1-${MAX_HISTORY_LIMIT}, 0 = ${DEFAULT_HISTORY_LIMIT})`);
  }
  const filter: HistoryFilter = {
    jobIds: req.jobIds,
    users: names(req.users, "users"),
    accounts: names(req.accounts, "accounts"),
    states: req.states,
    partitions: names(req.partitions, "partitions"),
    names: names(req.names, "names"),
    submitTime: window(req.submitTime, "submit_time"),
    startTime: window(req.startTime, "start_time"),
    endTime: window(req.endTime, "end_time"),
  };
  return { filter, limit: req.limit || DEFAULT_HISTORY_LIMIT };
}

/** Active jobs that pass the filter (none when it asks only for ended states or an end time). */
function activeRows(jobs: Iterable<JobRecord>, f: HistoryFilter): JobHistoryEntry[] {
  if (f.endTime || (f.states.length > 0 && f.states.every(isTerminal))) return [];
  const wanted = f.jobIds.length > 0 ? new Set(f.jobIds) : undefined;
  const out: JobHistoryEntry[] = [];
  for (const job of jobs) {
    if (wanted && !wanted.has(job.jobId)) continue;
    if (f.ownerUid !== undefined && job.spec.uid !== f.ownerUid) continue;
    const row = historyRow(job);
    if (matchesHistory(row, f)) out.push(row);
  }
  return out;
}

export function queryJobHistory(ctld: HistorySource, callerUid: number, req: QueryJobHistoryRequest): QueryJobHistoryReply {
  let asked: ReturnType<typeof historyFilterOf>;
  try {
    asked = historyFilterOf(req, ctld.config.limits);
  } catch (e) {
    if (e instanceof InvalidRequest) return { ok: false, code: ErrCode.ERR_INVALID_PARAM, reason: `QueryJobHistory: ${e.message}`, jobs: [] };
    throw e;
  }
  const { filter, limit } = asked;
  if (ctld.config.privateData && !viewerOf(ctld.config, callerUid).privileged) filter.ownerUid = callerUid;
  const finished = ctld.store.queryHistory(filter, limit);
  const active = activeRows(ctld.jobs, filter);
  const jobs = active.length === 0 ? finished : [...active, ...finished].sort(historyOrder).slice(0, limit);
  return { ok: true, code: ErrCode.SUCCESS, reason: "", jobs };
}
