// What a pending job still waits for before the scheduler may look at it: its --begin time and its -d dependencies
// (an array's limit of running tasks, `%N`, is counted by the lifecycle's pass, which knows the whole array).
// Pure: the other jobs are looked up through OtherJobs (active jobs, then finished ones).
import { DependencyKind, JobStatus, type JobDependency, type JobSpec } from "../../core/generated/crane/crane";
import { isTerminal } from "../../core/job-state";
import type { JobRecord } from "./records";

/** Ready to schedule, waiting (with the pending reason to show), or never (the reason why not). */
export type Gate = { state: "ready" } | { state: "waiting"; reason: "BeginTime" | "Dependency" | "JobArrayTaskLimit" } | { state: "never"; reason: string };

export interface OtherJobs {
  /** The job's current status, or undefined when ctld no longer knows it (its record was purged). */
  status(jobId: number): JobStatus | undefined;
  /** An active job of this user with this name and a smaller id than `jobId` exists. */
  earlierNamesake(job: JobRecord): boolean;
}

type Condition = "holds" | "waits" | "never";

function conditionOf(dep: JobDependency, job: JobRecord, jobs: OtherJobs): { result: Condition; why: string } {
  if (dep.kind === DependencyKind.DEP_SINGLETON) return { result: jobs.earlierNamesake(job) ? "waits" : "holds", why: "" };
  let result: Condition = "holds";
  for (const id of dep.jobIds) {
    const status = jobs.status(id);
    const ended = status === undefined || isTerminal(status);
    let one: Condition;
    switch (dep.kind) {
      case DependencyKind.DEP_AFTER:
        one = status === JobStatus.Pending ? "waits" : "holds";
        break;
      case DependencyKind.DEP_AFTER_ANY:
        one = ended ? "holds" : "waits";
        break;
      case DependencyKind.DEP_AFTER_OK:
        one = !ended ? "waits" : status === JobStatus.Completed ? "holds" : "never";
        break;
      default: // DEP_AFTER_NOT_OK
        one = !ended ? "waits" : status === JobStatus.Completed || status === undefined ? "never" : "holds";
    }
    if (one === "never") return { result: "never", why: `job ${id} ended ${status === undefined ? "long ago" : JobStatus[status]}` };
    if (one === "waits") result = "waits";
  }
  return { result, why: "" };
}

export function hasGate(spec: JobSpec): boolean {
  return spec.beginTime > 0 || spec.dependencies.length > 0 || (spec.array?.maxRunning ?? 0) > 0;
}

export function gateOf(job: JobRecord, now: number, jobs: OtherJobs): Gate {
  const { spec } = job;
  if (spec.dependencies.length > 0) {
    const conditions = spec.dependencies.map((d) => conditionOf(d, job, jobs));
    const never = conditions.filter((c) => c.result === "never");
    const neverGate: Gate = { state: "never", reason: `DependencyNeverSatisfied: ${never.map((c) => c.why).join(", ")}` };
    if (spec.dependencyAnyOf) {
      if (!conditions.some((c) => c.result === "holds")) return never.length === conditions.length ? neverGate : { state: "waiting", reason: "Dependency" };
    } else if (never.length > 0) {
      return neverGate;
    } else if (conditions.some((c) => c.result === "waits")) {
      return { state: "waiting", reason: "Dependency" };
    }
  }
  if (spec.beginTime > now) return { state: "waiting", reason: "BeginTime" };
  return { state: "ready" };
}
