// Finished jobs: in the store, and in memory until their final save commits, so that no query misses them.
import type { JobStatus } from "../../core/generated/crane/crane";
import type { JobRecord } from "./records";
import type { JobStore } from "./store";

export class FinishedJobs {
  private readonly saving = new Map<number, JobRecord>();

  constructor(private readonly store: JobStore) {}

  /** The job has ended; it is answered from memory until `saved`. */
  add(job: JobRecord): void {
    this.saving.set(job.jobId, job);
  }

  saved(job: JobRecord): void {
    if (this.saving.get(job.jobId) === job) this.saving.delete(job.jobId);
  }

  /** A finished job's status never changes: dependencies on it look it up in the store once. */
  private readonly statuses = new Map<number, JobStatus>();

  statusOf(jobId: number): JobStatus | undefined {
    let status = this.statuses.get(jobId);
    if (status === undefined) {
      status = this.find(jobId)?.status;
      if (status === undefined) return undefined;
      if (this.statuses.size >= 100_000) this.statuses.clear();
      this.statuses.set(jobId, status);
    }
    return status;
  }

  find(jobId: number): JobRecord | undefined {
    return this.saving.get(jobId) ?? this.store.loadFinished(1, [jobId])[0];
  }

  /** Finished jobs, newest first (those of `jobIds` only, when given). */
  load(limit: number, jobIds?: number[]): JobRecord[] {
    const wanted = jobIds && jobIds.length > 0 ? new Set(jobIds) : undefined;
    const inFlight = [...this.saving.values()].filter((j) => !wanted || wanted.has(j.jobId));
    if (inFlight.length === 0) return this.store.loadFinished(limit, jobIds);
    const ids = new Set(inFlight.map((j) => j.jobId));
    const rest = wanted ? [...wanted].filter((id) => !ids.has(id)) : undefined;
    const stored = rest?.length === 0 ? [] : this.store.loadFinished(limit, rest).filter((j) => !ids.has(j.jobId));
    return [...inFlight, ...stored].sort((a, b) => b.jobId - a.jobId).slice(0, limit);
  }
}
