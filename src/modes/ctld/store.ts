// ctld's durable state: jobs (with their steps) and the job id counter, in SQLite (WAL).
// Writes are group-committed: every change made in one turn of the event loop is written in one
// transaction, and the callers' promises resolve only after that transaction committed, so an RPC that
// awaits `save` acknowledges only what is on disk.
// A finished job's row also carries its accounting row (history-rows.ts) in columns, with partial indexes over
// finished rows only, which the history queries (cacct) read. An active job's row leaves them NULL: saving it costs
// no more than before, and no index work.
import path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { JobSpec, type JobHistoryEntry } from "../../core/generated/crane/crane";
import type { JobRecord } from "./records";
import { historyOrder, historyRow, matchesHistory, type HistoryFilter } from "./history-rows";
import { HISTORY_COLUMNS, HISTORY_INDEXES, NO_HISTORY, entryOf, historyValues, historyWhere, type HistoryDbRow } from "./store-history";
import { isTerminal } from "../../core/job-state";
import { PRIVATE_DIR, ensureDirMode, privateDatabaseFiles, withUmask } from "../../core/file-modes";

/** Finished rows deleted per transaction by the retention sweep: short enough not to hold up the event loop. */
const PURGE_BATCH = 2000;
const RETENTION_SWEEP_MS = 60 * 60 * 1000;

export class JobStore {
  private db: DatabaseSync;
  private upsert: StatementSync;
  private setMeta: StatementSync;
  private dirty = new Map<number, JobRecord>();
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushScheduled = false;
  private nextJobId = 1;
  private readonly historyQueries = new Map<string, StatementSync>();
  private retentionTimer: NodeJS.Timeout | undefined;
  /** Told, after each commit, which jobs it saved (the watch stream's source of job changes). */
  onCommit?: (jobs: JobRecord[]) => void;

  constructor(dir: string) {
    // Other users' jobs (scripts, environments) are in here: the directory 0700, the database and its -wal/-shm 0600,
    // also for a database made before this rule. (SQLite gives -wal and -shm the database file's mode.)
    ensureDirMode(dir, PRIVATE_DIR);
    const file = path.join(dir, "crane.db");
    privateDatabaseFiles(file);
    this.db = withUmask(0o077, () => {
      const db = new DatabaseSync(file);
      db.exec("PRAGMA journal_mode = WAL");
      return db;
    });
    // FULL: a commit is on disk (WAL fsync'd) before it returns, so an acknowledged job survives a power loss.
    this.db.exec("PRAGMA synchronous = FULL");
    this.db.exec(`CREATE TABLE IF NOT EXISTS jobs (
      job_id INTEGER PRIMARY KEY, finished INTEGER NOT NULL, data TEXT NOT NULL)`);
    this.db.exec("CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished, job_id)");
    this.migrateHistoryColumns();
    this.db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    // Rows that cannot be read back as a job are moved here (kept for an admin to look at), not left to stop ctld.
    this.db.exec("CREATE TABLE IF NOT EXISTS quarantine (job_id INTEGER, data TEXT, error TEXT NOT NULL, at INTEGER NOT NULL)");
    const columns = HISTORY_COLUMNS.map(([c]) => c);
    this.upsert = this.db.prepare(
      `INSERT INTO jobs(job_id, finished, data, ${columns.join(", ")}) VALUES (?, ?, ?${", ?".repeat(columns.length)}) ` +
        `ON CONFLICT(job_id) DO UPDATE SET finished = excluded.finished, data = excluded.data, ${columns.map((c) => `${c} = excluded.${c}`).join(", ")}`,
    );
    this.setMeta = this.db.prepare("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    const meta = this.db.prepare("SELECT value FROM meta WHERE key = 'next_job_id'").get() as { value: string } | undefined;
    const max = this.db.prepare("SELECT MAX(m) AS m FROM (SELECT MAX(job_id) AS m FROM jobs UNION ALL SELECT MAX(job_id) FROM quarantine)").get() as {
      m: number | null;
    };
    this.nextJobId = Math.max(Number(meta?.value ?? 1), (max.m ?? 0) + 1);
  }

  /** Job ids never repeat, also across restarts: the counter is saved with the job that used it. */
  /** The id the next allocateJobId() returns. */
  peekNextJobId(): number {
    return this.nextJobId;
  }

  allocateJobId(): number {
    return this.nextJobId++;
  }

  /**
   * Every job that has not finished, as it was last saved. A row that does not read back as a job is moved to the
   * quarantine table and reported through `onQuarantine`; the others load.
   */
  loadActive(onQuarantine: (jobId: number, error: string) => void = () => {}): JobRecord[] {
    const rows = this.db.prepare("SELECT job_id, data FROM jobs WHERE finished = 0 ORDER BY job_id").all() as { job_id: number; data: string }[];
    const jobs: JobRecord[] = [];
    for (const r of rows) {
      const job = readJobRow(r.job_id, r.data);
      if (typeof job !== "string") {
        jobs.push(job);
        continue;
      }
      this.db.exec("BEGIN");
      this.db.prepare("INSERT INTO quarantine(job_id, data, error, at) VALUES (?, ?, ?, ?)").run(r.job_id, r.data, job, Date.now());
      this.db.prepare("DELETE FROM jobs WHERE job_id = ?").run(r.job_id);
      this.db.exec("COMMIT");
      onQuarantine(r.job_id, job);
    }
    return jobs;
  }

  /** Drained nodes with their reasons (ccontrol update node state=drain), kept across restarts. */
  loadNodeDrains(): Record<string, string> {
    const r = this.db.prepare("SELECT value FROM meta WHERE key = 'node_drains'").get() as { value: string } | undefined;
    try {
      const parsed: unknown = r ? JSON.parse(r.value) : {};
      return parsed && typeof parsed === "object" ? (parsed as Record<string, string>) : {};
    } catch {
      return {};
    }
  }

  saveNodeDrains(drains: Record<string, string>): void {
    this.setMeta.run("node_drains", JSON.stringify(drains));
  }

  /** Finished jobs, newest first. */
  loadFinished(limit: number, jobIds?: number[]): JobRecord[] {
    if (jobIds && jobIds.length > 0) {
      const stmt = this.db.prepare("SELECT data FROM jobs WHERE finished = 1 AND job_id = ?");
      return jobIds.flatMap((id) => {
        const r = stmt.get(id) as { data: string } | undefined;
        return r ? [JSON.parse(r.data) as JobRecord] : [];
      });
    }
    const rows = this.db.prepare("SELECT data FROM jobs WHERE finished = 1 ORDER BY job_id DESC LIMIT ?").all(limit) as { data: string }[];
    return rows.map((r) => JSON.parse(r.data) as JobRecord);
  }

  /** Queues the job for the next group commit; resolves once it is durable. */
  save(job: JobRecord): Promise<void> {
    this.dirty.set(job.jobId, job);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const jobs = [...this.dirty.values()];
    const waiters = this.waiters;
    this.dirty = new Map();
    this.waiters = [];
    try {
      this.db.exec("BEGIN");
      for (const job of jobs) {
        const finished = isTerminal(job.status);
        this.upsert.run(job.jobId, finished ? 1 : 0, JSON.stringify(job), ...(finished ? historyValues(job) : NO_HISTORY));
      }
      this.setMeta.run("next_job_id", String(this.nextJobId));
      this.db.exec("COMMIT");
    } catch (e) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // the transaction was not open
      }
      for (const w of waiters) w.reject(e as Error);
      return;
    }
    for (const w of waiters) w.resolve();
    this.onCommit?.(jobs);
  }

  /**
   * Finished jobs that pass the filter, in history order (most recently ended first), at most `limit`: read from
   * the accounting columns through their indexes, plus the jobs that ended since the last commit.
   */
  queryHistory(f: HistoryFilter, limit: number): JobHistoryEntry[] {
    const { sql, params, index } = historyWhere(f);
    const rows = (this.historyQuery(index ? `INDEXED BY ${index} WHERE ${sql}` : `WHERE ${sql}`).all(...params, limit) as unknown as HistoryDbRow[]).map(
      entryOf,
    );
    const unsaved = [...this.dirty.values()].filter((j) => isTerminal(j.status)).map(historyRow);
    if (unsaved.length === 0) return rows;
    const ids = new Set(unsaved.map((e) => e.jobId));
    return [...rows.filter((e) => !ids.has(e.jobId)), ...unsaved.filter((e) => matchesHistory(e, f))].sort(historyOrder).slice(0, limit);
  }

  /** `clause`: the query's WHERE, with the INDEXED BY before it when there is one. */
  private historyQuery(clause: string): StatementSync {
    let stmt = this.historyQueries.get(clause);
    if (!stmt) {
      stmt = this.db.prepare(`SELECT job_id, ${HISTORY_COLUMNS.map(([c]) => c).join(", ")} FROM jobs ${clause} ORDER BY end_time DESC, job_id DESC LIMIT ?`);
      // One statement per shape of filter (which fields, how many values): few in practice, bounded anyway.
      if (this.historyQueries.size >= 256) this.historyQueries.clear();
      this.historyQueries.set(clause, stmt);
    }
    return stmt;
  }

  /** Deletes finished jobs that ended before `cutoffMs`, at most `max` of them; returns how many. */
  purgeFinishedBefore(cutoffMs: number, max = PURGE_BATCH): number {
    const r = this.db
      .prepare("DELETE FROM jobs WHERE job_id IN (SELECT job_id FROM jobs WHERE finished = 1 AND end_time < ? ORDER BY end_time LIMIT ?)")
      .run(cutoffMs, max);
    return Number(r.changes);
  }

  /**
   * CraneCtld.JobHistoryRetentionDays: finished jobs older than that are deleted now and then every hour, a batch
   * per event-loop turn (0 keeps them forever). `onPurged` is told how many each sweep deleted.
   */
  startRetention(days: number, onPurged: (count: number) => void = () => {}): void {
    if (days <= 0) return;
    const sweep = () => {
      const cutoff = Date.now() - days * 24 * 60 * 60 * 1000;
      let total = 0;
      const batch = () => {
        if (!this.db.isOpen) return;
        const n = this.purgeFinishedBefore(cutoff);
        total += n;
        if (n === PURGE_BATCH) setImmediate(batch);
        else if (total > 0) onPurged(total);
      };
      batch();
    };
    sweep();
    this.retentionTimer = setInterval(sweep, RETENTION_SWEEP_MS);
    this.retentionTimer.unref();
  }

  /**
   * Adds the accounting columns and their indexes where they are missing (a database of an earlier crane), and fills
   * them for the finished jobs it already holds.
   */
  private migrateHistoryColumns(): void {
    const have = new Set((this.db.prepare("PRAGMA table_info(jobs)").all() as { name: string }[]).map((c) => c.name));
    const missing = HISTORY_COLUMNS.filter(([c]) => !have.has(c));
    if (missing.length > 0) {
      this.db.exec("BEGIN");
      for (const [c, type] of missing) this.db.exec(`ALTER TABLE jobs ADD COLUMN ${c} ${type}`);
      this.backfillHistory();
      this.db.exec("COMMIT");
    }
    for (const [name, columns] of Object.entries(HISTORY_INDEXES)) {
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${name} ON jobs(${columns}) WHERE finished = 1`);
    }
  }

  private backfillHistory(): void {
    const update = this.db.prepare(`UPDATE jobs SET ${HISTORY_COLUMNS.map(([c]) => `${c} = ?`).join(", ")} WHERE job_id = ?`);
    const page = this.db.prepare("SELECT job_id, data FROM jobs WHERE finished = 1 AND job_id > ? ORDER BY job_id LIMIT 1000");
    for (let after = 0; ;) {
      const rows = page.all(after) as { job_id: number; data: string }[];
      if (rows.length === 0) return;
      for (const r of rows) {
        const job = readJobRow(r.job_id, r.data);
        if (typeof job !== "string") update.run(...historyValues(job), r.job_id);
      }
      after = rows[rows.length - 1]!.job_id;
    }
  }

  close(): void {
    clearInterval(this.retentionTimer);
    if (this.dirty.size > 0) this.flush();
    this.db.close();
  }
}

/** A saved job, or why the row is not one (bad JSON, or not the shape of a job record). */
const JOB_SPEC_DEFAULTS = JobSpec.fromPartial({});

function readJobRow(jobId: number, data: string): JobRecord | string {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  const j = v as Partial<JobRecord> | null;
  if (!j || typeof j !== "object") return "not an object";
  if (j.jobId !== jobId) return `its job id ${String(j.jobId)} is not the row's ${jobId}`;
  if (typeof j.status !== "number" || !j.spec || typeof j.spec !== "object" || !Array.isArray(j.steps) || !Array.isArray(j.nodes)) {
    return "missing status, spec, steps or nodes";
  }
  // A record saved before a field was added gets the field's default (a new field is never undefined).
  j.spec = { ...JOB_SPEC_DEFAULTS, ...j.spec };
  return j as JobRecord;
}
