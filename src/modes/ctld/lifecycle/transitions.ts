// The transitions every lifecycle event goes through (see index.ts): a node's report moves its step, a step's end
// moves its job, an ending job is freed on its nodes and then finished. Each adds its effects to the event's list.
import { JobStatus } from "../../../core/generated/crane/crane";
import { canTransition, isTerminal } from "../../../core/job-state";
import { monotonicOf } from "../../../core/clock";
import type { Logger } from "../../../core/log";
import type { CraneConfig } from "../../../core/config";
import { DAEMON_STEP, PRIMARY_STEP, findStep, type JobRecord, type StepRecord } from "../records";
import type { NodeRegistry } from "../nodes";
import type { ActiveJobs } from "../active-jobs";
import type { EffectList, Now } from "./effects";
import { shareShortfall, stepOutcome } from "./steps";

/** The reason of a step that waits for its share of the job's allocation. */
const STEP_RESOURCES = "StepResources";

export type LifecycleConfig = Pick<CraneConfig, "cranedTimeoutSeconds" | "jobRequeue" | "adminUids" | "limits">;

export class Transitions {
  /** When each running job and step started, on the monotonic clock (time limits are measured on it). */
  protected readonly startedMono = new WeakMap<object, number>();

  constructor(
    protected readonly jobs: ActiveJobs,
    protected readonly nodes: NodeRegistry,
    protected readonly config: LifecycleConfig,
    protected readonly log: Logger,
    /** When this ctld started, on the monotonic clock: nodes get a full timeout to come back after a restart. */
    protected readonly startedAtMono: number,
  ) {}

  protected dispatch(fx: EffectList, job: JobRecord, step: StepRecord): void {
    if (!this.move(step, JobStatus.Configuring, `step ${job.jobId}.${step.stepId}`)) return;
    const reachable: string[] = [];
    for (const node of step.nodes) {
      step.perNode[node] = { status: JobStatus.Configuring, exitCode: 0, reason: "", containerId: "" };
      if (this.nodes.get(node)?.up) reachable.push(node);
    }
    if (reachable.length > 0) fx.add({ kind: "launch", job, step, nodes: reachable });
    for (const node of step.nodes) {
      if (!reachable.includes(node)) this.report(fx, job, step, node, { status: JobStatus.Failed, reason: `node ${node} is not available` }, fx.now.wall);
    }
    fx.save(job);
  }

  protected report(
    fx: EffectList,
    job: JobRecord,
    step: StepRecord,
    node: string,
    r: { status: JobStatus; exitCode?: number; reason: string; containerId?: string; maxRssBytes?: number; cpuTimeUsec?: number },
    at: number,
  ): void {
    const prev = step.perNode[node];
    if (prev && isTerminal(prev.status)) return;
    step.perNode[node] = {
      status: r.status,
      exitCode: r.exitCode ?? 0,
      reason: r.reason,
      containerId: r.containerId || prev?.containerId || "",
      maxRssBytes: r.maxRssBytes || prev?.maxRssBytes,
      cpuTimeUsec: r.cpuTimeUsec || prev?.cpuTimeUsec,
    };
    this.aggregate(fx, job, step, at);
    fx.save(job);
  }

  /** Moves the step to what its nodes' reports add up to, and the job along with its pod and primary step. */
  protected aggregate(fx: EffectList, job: JobRecord, step: StepRecord, at: number): void {
    const outcome = stepOutcome(step);
    if (!outcome || !this.move(step, outcome.status, `step ${job.jobId}.${step.stepId}`)) return;
    if ("ended" in outcome) {
      Object.assign(step, { exitCode: outcome.exitCode, reason: outcome.reason, endTime: at });
      this.stepEnded(fx, job, step);
    } else if (outcome.status === JobStatus.Running) {
      step.startTime = at;
      this.stepRunning(fx, job, step);
    }
  }

  protected stepRunning(fx: EffectList, job: JobRecord, step: StepRecord): void {
    if (step.stepId === DAEMON_STEP && job.status === JobStatus.Configuring) {
      this.move(job, JobStatus.Starting, `job ${job.jobId}`);
      const primary = findStep(job, PRIMARY_STEP);
      if (primary?.status === JobStatus.Pending) this.dispatch(fx, job, primary);
    } else if (step.stepId === PRIMARY_STEP && (job.status === JobStatus.Configuring || job.status === JobStatus.Starting)) {
      this.move(job, JobStatus.Running, `job ${job.jobId}`);
      this.dispatchWaitingSteps(fx, job);
    }
  }

  /** Starts a step added to the running job, or leaves it Pending (StepResources) until its share is free. */
  protected dispatchAdded(fx: EffectList, job: JobRecord, step: StepRecord): void {
    const short = shareShortfall(job, step);
    if (!short) {
      if (step.reason === STEP_RESOURCES) step.reason = "";
      return this.dispatch(fx, job, step);
    }
    if (step.reason !== STEP_RESOURCES) {
      step.reason = STEP_RESOURCES;
      this.log.info(`step ${job.jobId}.${step.stepId} waits for its share of the job: ${short}`);
      fx.save(job);
    }
  }

  /** The job's added steps still pending, in order, each started if its share is free. */
  protected dispatchWaitingSteps(fx: EffectList, job: JobRecord): void {
    for (const s of job.steps) if (s.stepId >= 2 && s.status === JobStatus.Pending) this.dispatchAdded(fx, job, s);
  }

  protected stepEnded(fx: EffectList, job: JobRecord, step: StepRecord): void {
    if (job.status === JobStatus.Completing) return;
    if (step.ownShare && job.status === JobStatus.Running) this.dispatchWaitingSteps(fx, job);
    if (step.stepId === DAEMON_STEP) {
      this.endJob(fx, job, JobStatus.Failed, step.exitCode, `pod failed: ${step.reason || "the pod ended unexpectedly"}`);
    } else if (step.stepId === PRIMARY_STEP) {
      this.endJob(fx, job, step.status, step.exitCode, step.reason);
    }
  }

  /** The job is over: every node still holding it is told to stop its steps and free its resources. */
  protected endJob(fx: EffectList, job: JobRecord, status: JobStatus, exitCode: number, reason: string): void {
    if (job.status === JobStatus.Completing || isTerminal(job.status)) return;
    job.endRequested = job.endRequested ?? status;
    job.exitCode = exitCode;
    job.reason = job.reason || reason;
    if (job.status === JobStatus.Pending || job.nodes.length === 0) return this.finish(fx, job);
    this.move(job, JobStatus.Completing, `job ${job.jobId}`);
    job.pendingFree = job.nodes.filter((n) => this.mayStillFree(n, fx.now.mono));
    for (const s of job.steps) if (!isTerminal(s.status)) s.endRequested = s.endRequested ?? job.endRequested;
    this.free(fx, job);
    if (job.pendingFree.length === 0) this.finish(fx, job);
    else fx.save(job);
  }

  /**
   * Whether a node can still be told to free a job: it is up, or it has not registered since this ctld started
   * and may still come back within the timeout (it then gets FreeJob when it registers).
   */
  protected mayStillFree(node: string, nowMono: number): boolean {
    const n = this.nodes.get(node);
    if (!n) return false;
    return n.up || (!n.registered && nowMono - this.startedAtMono < this.config.cranedTimeoutSeconds * 1000);
  }

  protected free(fx: EffectList, job: JobRecord): void {
    for (const node of job.pendingFree) if (this.nodes.get(node)?.up) fx.add({ kind: "free", job, node });
  }

  protected freedOn(fx: EffectList, job: JobRecord, node: string): void {
    if (!job.pendingFree.includes(node)) return;
    job.pendingFree = job.pendingFree.filter((n) => n !== node);
    if (job.pendingFree.length === 0 && job.status === JobStatus.Completing) this.finish(fx, job);
    else fx.save(job);
  }

  protected finish(fx: EffectList, job: JobRecord): void {
    const at = fx.now.wall;
    if (!this.move(job, job.endRequested ?? JobStatus.Completed, `job ${job.jobId}`)) return;
    job.endTime = at;
    job.pendingReason = "";
    for (const s of job.steps) {
      if (!isTerminal(s.status) && this.move(s, s.endRequested ?? JobStatus.Cancelled, `step ${job.jobId}.${s.stepId}`)) s.endTime = at;
    }
    this.jobs.delete(job.jobId);
    fx.add({ kind: "finished", job });
    fx.add({ kind: "reschedule" });
  }

  protected terminate(fx: EffectList, job: JobRecord, step: StepRecord, reasonStatus: JobStatus, reason: string, graceSeconds?: number): void {
    const nodes = step.nodes.filter((n) => this.nodes.get(n)?.up);
    if (nodes.length > 0) fx.add({ kind: "terminate", job, step, nodes, reasonStatus, reason, graceSeconds });
  }

  protected requeue(fx: EffectList, job: JobRecord, why: string): void {
    for (const n of job.nodes) if (this.nodes.get(n)?.up) fx.add({ kind: "freeEnded", jobId: job.jobId, node: n });
    if (!this.move(job, JobStatus.Pending, `job ${job.jobId}`)) return;
    Object.assign(job, { nodes: [], steps: [], startTime: 0, pendingReason: "Requeued", requeueCount: job.requeueCount + 1 });
    this.log.info(`job ${job.jobId} requeued: ${why}`);
    fx.save(job);
  }

  /** Milliseconds a job or step has been running, immune to jumps of the wall clock after it started here. */
  protected runningFor(rec: { startTime: number }, now: Now): number {
    let since = this.startedMono.get(rec);
    if (since === undefined) this.startedMono.set(rec, (since = monotonicOf(rec.startTime, now.wall, now.mono)));
    return now.mono - since;
  }

  /**
   * Every status change goes through the lifecycle's table (core/job-state.ts): an illegal one (a late report
   * reviving a finished step, a finished job ended again) is logged and not made.
   */
  protected move(rec: { status: JobStatus }, to: JobStatus, what: string): boolean {
    if (canTransition(rec.status, to)) {
      rec.status = to;
      return true;
    }
    this.log.error(`${what}: refused the illegal transition ${JobStatus[rec.status]} -> ${JobStatus[to]}`);
    return false;
  }
}
