// ctld's durable state: jobs (with their steps) and the job id counter, in SQLite (WAL).
// Writes are group-committed: every change made in one turn of the event loop is written in one
// transaction, and the callers' promises resolve only after that transaction committed, so an RPC that
// awaits `save` acknowledges only what is on disk.
import path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { JobRecord } from "./records";
import { isTerminal } from "../../core/job-state";
import { PRIVATE_DIR, ensureDirMode, privateDatabaseFiles, withUmask } from "../../core/file-modes";

export class JobStore {
  private db: DatabaseSync;
  private upsert: StatementSync;
  private setMeta: StatementSync;
  private dirty = new Map<number, JobRecord>();
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushScheduled = false;
  private nextJobId = 1;
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
    this.db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    // Rows that cannot be read back as a job are moved here (kept for an admin to look at), not left to stop ctld.
    this.db.exec("CREATE TABLE IF NOT EXISTS quarantine (job_id INTEGER, data TEXT, error TEXT NOT NULL, at INTEGER NOT NULL)");
    this.upsert = this.db.prepare(
      "INSERT INTO jobs(job_id, finished, data) VALUES (?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET finished = excluded.finished, data = excluded.data",
    );
    this.setMeta = this.db.prepare("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    const meta = this.db.prepare("SELECT value FROM meta WHERE key = 'next_job_id'").get() as { value: string } | undefined;
    const max = this.db.prepare("SELECT MAX(m) AS m FROM (SELECT MAX(job_id) AS m FROM jobs UNION ALL SELECT MAX(job_id) FROM quarantine)").get() as {
      m: number | null;
    };
    this.nextJobId = Math.max(Number(meta?.value ?? 1), (max.m ?? 0) + 1);
  }

  /** Job ids never repeat, also across restarts: the counter is saved with the job that used it. */
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
      for (const job of jobs) this.upsert.run(job.jobId, isTerminal(job.status) ? 1 : 0, JSON.stringify(job));
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

  close(): void {
    if (this.dirty.size > 0) this.flush();
    this.db.close();
  }
}

/** A saved job, or why the row is not one (bad JSON, or not the shape of a job record). */
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
  return j as JobRecord;
}
