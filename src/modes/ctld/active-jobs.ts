// ctld's map of active jobs, which also counts them per uid, so that CraneCtld.MaxSubmitJobsPerUser costs a lookup
// per submission instead of a walk over every queued job. A job's uid never changes once it is admitted.
import { hasGate } from "./dependencies";
import type { JobStepSelector } from "../../core/generated/crane/crane";
import type { JobRecord } from "./records";

export class ActiveJobs extends Map<number, JobRecord> {
  private readonly perUid = new Map<number, number>();
  /** Jobs with a --begin time or dependencies: the only ones a schedule pass must check for them. */
  private readonly withGates = new Set<number>();
  /** Array id -> task id -> job id, of the active tasks. */
  private readonly arrays = new Map<number, Map<number, number>>();

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
      const a = job.spec.array;
      if (a) {
        const tasks = this.arrays.get(a.arrayJobId) ?? new Map<number, number>();
        this.arrays.set(a.arrayJobId, tasks.set(a.taskId, jobId));
      }
    }
    return super.set(jobId, job);
  }

  override delete(jobId: number): boolean {
    const prev = super.get(jobId);
    if (prev) this.bump(prev.spec.uid, -1);
    this.withGates.delete(jobId);
    const a = prev?.spec.array;
    const tasks = a && this.arrays.get(a.arrayJobId);
    if (a && tasks) {
      tasks.delete(a.taskId);
      if (tasks.size === 0) this.arrays.delete(a.arrayJobId);
    }
    return super.delete(jobId);
  }

  override clear(): void {
    this.perUid.clear();
    this.withGates.clear();
    this.arrays.clear();
    super.clear();
  }

  /** The active tasks of array `arrayJobId`: task id -> job id (empty when it is no array, or all ended). */
  arrayTasks(arrayJobId: number): ReadonlyMap<number, number> {
    return this.arrays.get(arrayJobId) ?? new Map();
  }

  /**
   * Selectors with arrays resolved: an array's id stands for all its active tasks (and its first task's job), `12_7`
   * for that task's job. `missing`: the `12_7` selectors whose task is not active.
   */
  expandArraySelectors(selectors: JobStepSelector[]): { selectors: JobStepSelector[]; missing: JobStepSelector[] } {
    const out: JobStepSelector[] = [];
    const missing: JobStepSelector[] = [];
    const seen = new Set<string>();
    const add = (jobId: number, stepIds: number[]) => {
      const key = `${jobId}:${stepIds.join(",")}`;
      if (!seen.has(key)) out.push({ jobId, stepIds });
      seen.add(key);
    };
    for (const sel of selectors) {
      const tasks = this.arrayTasks(sel.jobId);
      if (sel.arrayTaskId !== undefined) {
        const jobId = tasks.get(sel.arrayTaskId);
        if (jobId === undefined) missing.push(sel);
        else add(jobId, sel.stepIds);
        continue;
      }
      add(sel.jobId, sel.stepIds);
      for (const jobId of tasks.values()) add(jobId, sel.stepIds);
    }
    return { selectors: out, missing };
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
