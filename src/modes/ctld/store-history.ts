// The accounting columns of a finished job's row in ctld's database, and the SQL that reads them (cacct's
// QueryJobHistory): see store.ts.
import type { SQLInputValue } from "node:sqlite";
import type { JobHistoryEntry } from "../../core/generated/crane/crane";
import type { JobRecord } from "./records";
import { historyRow, type HistoryFilter, type TimeRange } from "./history-rows";

/** The accounting columns: name, SQL type, and how a history row fills it. */
export const HISTORY_COLUMNS: [string, string, (e: JobHistoryEntry) => SQLInputValue][] = [
  ["uid", "INTEGER", (e) => e.uid],
  ["username", "TEXT", (e) => e.username],
  ["account", "TEXT", (e) => e.account],
  ["partition", "TEXT", (e) => e.partition],
  ["name", "TEXT", (e) => e.name],
  ["qos", "TEXT", (e) => e.qos],
  ["type", "INTEGER", (e) => e.type],
  ["state", "INTEGER", (e) => e.status],
  ["exit_code", "INTEGER", (e) => e.exitCode],
  ["reason", "TEXT", (e) => e.reason],
  ["nodes", "TEXT", (e) => e.nodes.join(",")],
  ["alloc_cpus", "REAL", (e) => e.allocCpus],
  ["submit_time", "INTEGER", (e) => e.submitTime],
  ["start_time", "INTEGER", (e) => e.startTime],
  ["end_time", "INTEGER", (e) => e.endTime],
  ["max_rss_bytes", "INTEGER", (e) => e.maxRssBytes],
  ["cpu_time_usec", "INTEGER", (e) => e.cpuTimeUsec],
];

/** Partial indexes over finished rows: each filter column with the end time (the order of a history query). */
export const HISTORY_INDEXES: Record<string, string> = {
  jobs_hist_end: "end_time",
  jobs_hist_uid: "uid, end_time",
  jobs_hist_user: "username, end_time",
  jobs_hist_account: "account, end_time",
  jobs_hist_state: "state, end_time",
  jobs_hist_partition: "partition, end_time",
  jobs_hist_submit: "submit_time",
  jobs_hist_start: "start_time",
};

export interface HistoryDbRow {
  job_id: number;
  uid: number;
  username: string;
  account: string;
  partition: string;
  name: string;
  qos: string;
  type: number;
  state: number;
  exit_code: number;
  reason: string;
  nodes: string;
  alloc_cpus: number;
  submit_time: number;
  start_time: number;
  end_time: number;
  max_rss_bytes: number;
  cpu_time_usec: number;
}

export function entryOf(r: HistoryDbRow): JobHistoryEntry {
  return {
    jobId: r.job_id,
    name: r.name,
    uid: r.uid,
    username: r.username,
    account: r.account,
    partition: r.partition,
    qos: r.qos,
    type: r.type,
    status: r.state,
    exitCode: r.exit_code,
    reason: r.reason,
    nodes: r.nodes ? r.nodes.split(",") : [],
    allocCpus: r.alloc_cpus,
    submitTime: r.submit_time,
    startTime: r.start_time,
    endTime: r.end_time,
    maxRssBytes: r.max_rss_bytes,
    cpuTimeUsec: r.cpu_time_usec,
  };
}

/**
 * The WHERE clause of a history query over finished rows, with its parameters, and the index to read when no
 * filtered column picks one (SQLite would otherwise take jobs_finished and sort every finished job).
 */
export function historyWhere(f: HistoryFilter): { sql: string; params: SQLInputValue[]; index?: string } {
  const where = ["finished = 1"];
  const params: SQLInputValue[] = [];
  const oneOf = (column: string, values: SQLInputValue[]) => {
    if (values.length === 0) return;
    where.push(values.length === 1 ? `${column} = ?` : `${column} IN (${values.map(() => "?").join(",")})`);
    params.push(...values);
  };
  const within = (column: string, r: TimeRange | undefined) => {
    if (!r) return;
    where.push(`${column} >= ?`);
    params.push(Math.max(1, r.from));
    if (r.to) {
      where.push(`${column} <= ?`);
      params.push(r.to);
    }
  };
  if (f.ownerUid !== undefined) oneOf("uid", [f.ownerUid]);
  oneOf("job_id", f.jobIds);
  oneOf("username", f.users);
  oneOf("account", f.accounts);
  oneOf("state", f.states);
  oneOf("partition", f.partitions);
  oneOf("name", f.names);
  within("submit_time", f.submitTime);
  within("start_time", f.startTime);
  within("end_time", f.endTime);
  // Every finished job has an end time; a row without one is a record the migration could not read.
  if (!f.endTime) where.push("end_time > 0");
  const sql = where.join(" AND ");
  const equalities = f.ownerUid !== undefined || [f.jobIds, f.users, f.accounts, f.states, f.partitions, f.names].some((l) => l.length > 0);
  if (equalities) return { sql, params };
  return { sql, params, index: f.endTime ? "jobs_hist_end" : f.submitTime ? "jobs_hist_submit" : f.startTime ? "jobs_hist_start" : "jobs_hist_end" };
}

/** The accounting columns of an active job's row. */
export const NO_HISTORY: SQLInputValue[] = HISTORY_COLUMNS.map(() => null);

export function historyValues(job: JobRecord): SQLInputValue[] {
  const e = historyRow(job);
  return HISTORY_COLUMNS.map(([, , value]) => value(e));
}
