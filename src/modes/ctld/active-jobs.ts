// ctld's map of active jobs, which also counts them per uid, so that CraneCtld.MaxSubmitJobsPerUser costs a lookup
// per submission instead of a walk over every queued job. A job's uid never changes once it is admitted.
import type { JobRecord } from "./records";

export class ActiveJobs extends Map<number, JobRecord> {
  private readonly perUid = new Map<number, number>();

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
    }
    return super.set(jobId, job);
  }

  override delete(jobId: number): boolean {
    const prev = super.get(jobId);
    if (prev) this.bump(prev.spec.uid, -1);
    return super.delete(jobId);
  }

  override clear(): void {
    this.perUid.clear();
    super.clear();
  }

  private bump(uid: number, by: number): void {
    const n = (this.perUid.get(uid) ?? 0) + by;
    if (n > 0) this.perUid.set(uid, n);
    else this.perUid.delete(uid);
  }
}
