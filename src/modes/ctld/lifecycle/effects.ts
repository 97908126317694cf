// What the lifecycle asks the world to do. The lifecycle only changes records in memory and returns effects; the
// JobManager carries them out (RPCs to craneds, saves, notifications) and feeds their outcomes back as events.
import type { JobStatus } from "../../../core/generated/crane/crane";
import type { JobRecord, StepRecord } from "../records";

/** The time of an event, on both clocks: the wall clock for records, the monotonic one for durations. */
export interface Now {
  wall: number;
  mono: number;
}

export type Effect =
  /** Start the step on these nodes (ExecuteStep); a failure comes back as `launchFailed`. */
  | { kind: "launch"; job: JobRecord; step: StepRecord; nodes: string[] }
  /** Ask these nodes to stop the step. */
  | { kind: "terminate"; job: JobRecord; step: StepRecord; nodes: string[]; reasonStatus: JobStatus; reason: string; graceSeconds?: number }
  /** Ask the node to stop what is left of the job and free it (FreeJob); success comes back as `nodeFreed`. */
  | { kind: "free"; job: JobRecord; node: string }
  /** The same without waiting for the answer (a job that ended while the node was away, a requeued job). */
  | { kind: "freeEnded"; jobId: number; node: string }
  /** Save the job; with `thenLaunch`, its first steps are launched once it is on disk (see Lifecycle.launchStarted). */
  | { kind: "save"; job: JobRecord; thenLaunch?: boolean }
  /** The job ended and left the active set: save it for good (it is answered from memory until then). */
  | { kind: "finished"; job: JobRecord }
  /** Watchers should hear of this job (a change that is not saved, e.g. a new pending reason). */
  | { kind: "notify"; job: JobRecord }
  /** A node went up or down. */
  | { kind: "nodeChanged"; node: string }
  /** Resources or the queue changed: run a scheduling cycle. */
  | { kind: "reschedule" };

/** Collects one event's effects, and carries its time; a job is saved once per event however many times it changed. */
export class EffectList {
  constructor(readonly now: Now) {}

  private readonly effects: Effect[] = [];
  private readonly saved = new Map<JobRecord, Extract<Effect, { kind: "save" }>>();
  private readonly finished = new Set<JobRecord>();

  add(e: Effect): void {
    if (e.kind === "save") {
      const prev = this.saved.get(e.job);
      if (prev) prev.thenLaunch ||= e.thenLaunch;
      else this.saved.set(e.job, e);
      return;
    }
    if (e.kind === "finished") this.finished.add(e.job);
    this.effects.push(e);
  }

  save(job: JobRecord): void {
    this.add({ kind: "save", job });
  }

  /** The effects in order, then the saves (a finished job's save is its `finished` effect). */
  list(): Effect[] {
    return [...this.effects, ...[...this.saved.values()].filter((s) => !this.finished.has(s.job))];
  }
}
