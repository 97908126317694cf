// cacct's view of the accounting history: its state names, time windows, columns, `-o` format letters and JSON.
//
// Format strings: see format.ts.
import { JobStatus, JobType, type JobHistoryEntry, type TimeWindow } from "../generated/crane/crane";
import { compressHostlist, formatDuration, ParseError, parseRelativeOrAbsoluteTime } from "../parse";
import { CliError } from "./errors";
import { columnByKey, formatKeys, parseFormat, renderFormat, type FormatColumn, type FormatItem } from "./format";
import { rfc3339, statusName, typeName } from "./json";
import { renderTable } from "./table";

const STATES: Record<string, JobStatus> = {
  pending: JobStatus.Pending,
  p: JobStatus.Pending,
  configuring: JobStatus.Configuring,
  starting: JobStatus.Starting,
  running: JobStatus.Running,
  r: JobStatus.Running,
  completing: JobStatus.Completing,
  completed: JobStatus.Completed,
  c: JobStatus.Completed,
  failed: JobStatus.Failed,
  f: JobStatus.Failed,
  cancelled: JobStatus.Cancelled,
  ca: JobStatus.Cancelled,
  exceedtimelimit: JobStatus.ExceedTimeLimit,
  timeout: JobStatus.ExceedTimeLimit,
  t: JobStatus.ExceedTimeLimit,
  outofmemory: JobStatus.OutOfMemory,
  oom: JobStatus.OutOfMemory,
};

/** `-s` values: a comma list of state names or their short forms; `all` (or nothing) filters nothing. */
export function parseHistoryStates(s: string): JobStatus[] {
  const out = new Set<JobStatus>();
  for (const t of s.split(",").map((x) => x.trim().toLowerCase())) {
    if (t === "") throw new CliError("Invalid state list specified: empty value.");
    if (t === "all") return [];
    const st = STATES[t];
    if (st === undefined) throw new CliError(`unknown state: ${t} (known: ${Object.keys(STATES).join(", ")}, all)`);
    out.add(st);
  }
  return [...out];
}

function parseTime(s: string, now: Date): number {
  // A bare date is its midnight (UTC, like the other zone-less forms).
  const text = /^\d{4}-\d{2}-\d{2}$/.test(s.trim()) ? `${s.trim()}T00:00:00` : s;
  return parseRelativeOrAbsoluteTime(text, now).getTime();
}

/**
 * A time window flag (`-S`, `-E`, `-w`): `FROM~TO`, `FROM~`, `~TO`, or `FROM` alone (since then). Times are
 * RFC 3339, `YYYY-MM-DD[ HH:MM:SS]` (UTC), or an age such as `1d` or `2h` counted back from now.
 */
export function parseTimeWindow(s: string, flag: string, now = new Date()): TimeWindow {
  const [fromText = "", toText, extra] = s.split("~");
  const what = `Invalid time window for ${flag}: ${s}`;
  if (extra !== undefined || (fromText.trim() === "" && !toText?.trim())) throw new CliError(`${what} (use FROM~TO, FROM~ or ~TO)`);
  try {
    const from = fromText.trim() ? parseTime(fromText, now) : 0;
    const to = toText?.trim() ? parseTime(toText, now) : 0;
    if (from < 0 || to < 0) throw new CliError(`${what}: times before 1970 are not supported`);
    if (from && to && from > to) throw new CliError(`${what}: the start is after the end`);
    return { from, to };
  } catch (e) {
    if (e instanceof ParseError) throw new CliError(`${what}: ${e.message}`);
    throw e;
  }
}

/** The exit status and the signal that ended the job: a status above 128 is a signal (the shell's 128+N). */
export function exitAndSignal(exitCode: number): { code: number; signal: number } {
  return exitCode > 128 && exitCode < 128 + 65 ? { code: 0, signal: exitCode - 128 } : { code: exitCode, signal: 0 };
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Local time as `YYYY-MM-DDTHH:MM:SS`; `-` when unknown (0). */
export function formatTime(ms: number): string {
  if (!ms) return "-";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Bytes as K, M or G with one decimal (binary units); `-` when not measured (0). */
export function formatRss(bytes: number): string {
  if (!bytes) return "-";
  const units = ["K", "M", "G", "T"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)}${units[i]}`;
}

/** CPU time as `[D-]HH:MM:SS.mmm`; `-` when not measured (0). */
export function formatCpuTime(usec: number): string {
  if (!usec) return "-";
  const ms = Math.floor(usec / 1000);
  return `${formatDuration(Math.floor(ms / 1000))}.${String(ms % 1000).padStart(3, "0")}`;
}

function elapsedSeconds(e: JobHistoryEntry, now: number): number {
  if (!e.startTime) return 0;
  return Math.max(0, Math.floor(((e.endTime || now) - e.startTime) / 1000));
}

type Column = FormatColumn<JobHistoryEntry, number>;

/** cacct's columns; the context of a value is the current time (ms), for the elapsed time of a running job. */
export const HISTORY_COLUMNS: Column[] = [
  { letter: "j", name: "jobid", value: (e) => String(e.jobId) },
  { letter: "n", name: "jobname", value: (e) => e.name },
  { letter: "u", name: "user", value: (e) => e.username },
  { letter: "U", name: "uid", value: (e) => String(e.uid) },
  { letter: "a", name: "account", value: (e) => e.account },
  { letter: "P", name: "partition", value: (e) => e.partition },
  { letter: "q", name: "qos", value: (e) => e.qos },
  { letter: "T", name: "jobtype", value: (e) => JobType[e.type] ?? String(e.type) },
  { letter: "c", name: "alloccpus", value: (e) => String(+e.allocCpus.toFixed(2)) },
  { letter: "t", name: "state", value: (e) => JobStatus[e.status] ?? String(e.status) },
  {
    letter: "x",
    name: "exitcode",
    value: (e) => {
      const { code, signal } = exitAndSignal(e.exitCode);
      return `${code}:${signal}`;
    },
  },
  { letter: "s", name: "submit", value: (e) => formatTime(e.submitTime) },
  { letter: "S", name: "start", value: (e) => formatTime(e.startTime) },
  { letter: "E", name: "end", value: (e) => formatTime(e.endTime) },
  { letter: "e", name: "elapsed", value: (e, now) => (e.startTime ? formatDuration(elapsedSeconds(e, now)) : "-") },
  { letter: "L", name: "nodelist", value: (e) => compressHostlist(e.nodes) || "-" },
  { letter: "N", name: "nodenum", value: (e) => String(e.nodes.length) },
  { letter: "M", name: "maxrss", value: (e) => formatRss(e.maxRssBytes) },
  { letter: "C", name: "cputime", value: (e) => formatCpuTime(e.cpuTimeUsec) },
  { letter: "R", name: "reason", value: (e) => e.reason },
];

const DEFAULT_COLUMNS = [
  "jobid",
  "jobname",
  "partition",
  "account",
  "alloccpus",
  "state",
  "exitcode",
  "start",
  "end",
  "elapsed",
  "nodelist",
  "maxrss",
  "cputime",
];

/** The `-o` keys, for help and errors. */
export const FORMAT_KEYS_HELP = formatKeys(HISTORY_COLUMNS);

/** Parses a `-o` string; an unknown key or a string without any spec is an InvalidFormat error (exit 5). */
export function parseHistoryFormat(format: string): FormatItem<JobHistoryEntry, number>[] {
  return parseFormat(format, HISTORY_COLUMNS);
}

/** The history as cacct prints it: the default table, or the `-o` format's lines. */
export function renderHistory(jobs: JobHistoryEntry[], opts: { format?: string; noHeader: boolean; full: boolean; now?: number }): string {
  const now = opts.now ?? Date.now();
  if (opts.format === undefined) {
    const columns = DEFAULT_COLUMNS.map((n) => columnByKey(HISTORY_COLUMNS, n)!);
    const rows = jobs.map((e) => columns.map((c) => c.value(e, now)));
    const table = renderTable(
      columns.map((c) => c.name.toUpperCase()),
      rows,
      { noHeader: opts.noHeader, trimAt: opts.full ? undefined : 30 },
    );
    return table
      .trimEnd()
      .split("\n")
      .map((line) => line.trimEnd())
      .join("\n");
  }
  return renderFormat(parseHistoryFormat(opts.format), jobs, now, { noHeader: opts.noHeader });
}

/** One job of `cacct --json`: snake_case keys, RFC 3339 times (null when unknown). */
export interface HistoryJson {
  job_id: number;
  job_name: string;
  user: string;
  uid: number;
  account: string;
  partition: string;
  qos: string;
  type: string;
  state: string;
  exit_code: number;
  signal: number;
  reason: string;
  alloc_cpus: number;
  nodes: string[];
  node_list: string;
  submit_time: string | null;
  start_time: string | null;
  end_time: string | null;
  elapsed_seconds: number;
  max_rss_bytes: number;
  cpu_time_usec: number;
}

export function historyJson(e: JobHistoryEntry, now = Date.now()): HistoryJson {
  const { code, signal } = exitAndSignal(e.exitCode);
  return {
    job_id: e.jobId,
    job_name: e.name,
    user: e.username,
    uid: e.uid,
    account: e.account,
    partition: e.partition,
    qos: e.qos,
    type: typeName(e.type),
    state: statusName(e.status),
    exit_code: code,
    signal,
    reason: e.reason,
    alloc_cpus: e.allocCpus,
    nodes: e.nodes,
    node_list: compressHostlist(e.nodes),
    submit_time: rfc3339(e.submitTime),
    start_time: rfc3339(e.startTime),
    end_time: rfc3339(e.endTime),
    elapsed_seconds: elapsedSeconds(e, now),
    max_rss_bytes: e.maxRssBytes,
    cpu_time_usec: e.cpuTimeUsec,
  };
}
