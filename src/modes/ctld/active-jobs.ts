// ctld's map of active jobs, which also counts them per uid, so that CraneCtld.MaxSubmitJobsPerUser costs a lookup
// per submission instead of a walk over every queued job. A job's uid never changes once it is admitted.
import { hasGate } from "./dependencies";
import type { JobRecord } from "./records";

export class ActiveJobs extends Map<number, JobRecord> {
  private readonly perUid = new Map<number, number>();
  /** Jobs with a --begin time or dependencies: the only ones a schedule pass must check for them. */
  private readonly withGates = new Set<number>();

  /** Active jobs of this uid. */
  countOf(uid: number): number {
    return this.perUid.get(uid) ?? 0;
  }

  override set(jobId: number, job: JobRecord): this {
    const prev = super.get(jobId);
    // (Map's constructor may call set before the fields exist: an ActiveJobs is always made empty.)
    if (this.perUid) {
      if (prev) this.bump(prev.spec.uid, -1);
      this.bump(job.spec.uid, 1);
      if (hasGate(job.spec)) this.withGates.add(jobId);
      else this.withGates.delete(jobId);
    }
    return super.set(jobId, job);
  }

  override delete(jobId: number): boolean {
    const prev = super.get(jobId);
    if (prev) this.bump(prev.spec.uid, -1);
    this.withGates.delete(jobId);
    return super.delete(jobId);
  }

  override clear(): void {
    this.perUid.clear();
    this.withGates.clear();
    super.clear();
  }

  /** Active jobs that have a --begin time or dependencies. */
  *pendingWithGates(): Iterable<JobRecord> {
    for (const id of this.withGates) {
      const job = super.get(id);
      if (job) yield job;
    }
  }

  /** Another active job of the same user and name was submitted before this one (singleton dependencies). */
  hasEarlierNamesake(job: JobRecord): boolean {
    for (const other of this.values()) {
      if (other.jobId < job.jobId && other.spec.uid === job.spec.uid && other.spec.name === job.spec.name) return true;
    }
    return false;
  }

  private bump(uid: number, by: number): void {
    const n = (this.perUid.get(uid) ?? 0) + by;
    if (n > 0) this.perUid.set(uid, n);
    else this.perUid.delete(uid);
  }
}
