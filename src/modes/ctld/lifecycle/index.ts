// The job and step lifecycle: events (a placement, a node's report, a cancel, a node lost, a clock tick) change the
// records in memory and return the effects to carry out (see effects.ts). Nothing here does I/O or reads a clock:
// the time of each event is given, so tests drive it with a fake clock and look at the effects. The transitions
// these events share are in transitions.ts.
import { JobStatus, JobType, type ArrayTask, type StepStatusChangeRequest } from "../../../core/generated/crane/crane";
import { isTerminal } from "../../../core/job-state";
import { isAdminUid } from "../../../core/identity";
import { DAEMON_STEP, PRIMARY_STEP, findStep, type JobRecord, type StepRecord } from "../records";
import type { NodeEntry } from "../nodes";
import { buildSnapshot, deviceAssigner } from "../allocations";
import { scheduleUnderUserLimit } from "../limits";
import { schedule, type Resources } from "../scheduler";
import { EffectList, type Effect, type Now } from "./effects";
import { initialSteps } from "./steps";
import { gateOf, type OtherJobs } from "../dependencies";
import { Transitions } from "./transitions";

/** How long a node that refused a launch for its own sake (a full disk) gets no new jobs. */
export const NODE_UNFIT_MS = 10_000;

/** Not one of the job's steps has started (its pod, step 0, is not the user's work): it may be placed again. */
function nothingOfTheUserRan(job: JobRecord): boolean {
  const notStarted = new Set([JobStatus.Pending, JobStatus.Configuring, JobStatus.Starting]);
  return job.steps.every((s) => s.stepId === DAEMON_STEP || Object.values(s.perNode).every((p) => notStarted.has(p.status)));
}

export type { Effect, Now } from "./effects";
export type { LifecycleConfig } from "./transitions";

/** A step some node still runs, as the node lists it when it registers. */
export interface HeldStep {
  jobId: number;
  stepId: number;
}

export class Lifecycle extends Transitions {
  mayControl(uid: number, job: JobRecord): boolean {
    return uid === job.spec.uid || isAdminUid(uid, this.config.adminUids);
  }

  // ------------------------------------------------------------------ scheduling

  /**
   * One scheduling pass over the pending jobs: new pending reasons, and the jobs that start. `again` asks for
   * another pass soon (a user limit held jobs back), `waiting` says that some jobs still wait.
   */
  schedulePass(now: Now): { effects: Effect[]; again: boolean; waiting: boolean } {
    const fx = new EffectList(now);
    const gated = this.applyGates(fx, now);
    const snapshot = buildSnapshot(this.jobs, this.nodes, now.wall, now.mono, gated);
    if (snapshot.pending.length === 0) return { effects: fx.list(), again: false, waiting: gated.size > 0 };
    const result = scheduleUnderUserLimit(snapshot, this.jobs, this.config.limits.maxJobsPerUser, schedule);
    this.log.debug(`schedule: ${snapshot.pending.length} pending, ${result.placements.length} placed`);
    for (const [jobId, reason] of result.pending) {
      const job = this.jobs.get(jobId);
      if (job && job.status === JobStatus.Pending && job.pendingReason !== reason) {
        job.pendingReason = reason;
        fx.add({ kind: "notify", job });
      }
    }
    const assignDevices = deviceAssigner(result.placements, this.jobs, this.nodes, this.log);
    for (const p of result.placements) {
      const job = this.jobs.get(p.jobId);
      if (!job || job.status !== JobStatus.Pending) continue;
      this.startJob(fx, job, p.nodes, p.perNode, now);
      job.allocByNode = Object.fromEntries(p.nodes.map((n, i) => [n, p.allocated[i] ?? p.perNode]));
      assignDevices(job);
    }
    // A job that started may be what an `after` dependency waits for: look again soon.
    const again = result.again || (gated.size > 0 && result.placements.length > 0);
    return { effects: fx.list(), again, waiting: result.pending.size + gated.size > 0 };
  }

  /** Statuses of finished jobs, for dependencies on them (set by the job manager: they live in the store). */
  finishedStatus: (jobId: number) => JobStatus | undefined = () => undefined;
  /** The earliest --begin time still ahead (wall clock), when the next pass is due without any other event. */
  private nextBeginAt = Infinity;

  /**
   * Pending jobs that wait for their --begin time or their dependencies (dependencies.ts), left out of this pass
   * with their reason; one whose dependency can never hold keeps waiting as DependencyNeverSatisfied, or is
   * cancelled with --kill-on-invalid-dep.
   */
  private applyGates(fx: EffectList, now: Now): Set<number> {
    const gated = new Set<number>();
    this.nextBeginAt = Infinity;
    const others: OtherJobs = {
      status: (id) => this.jobs.get(id)?.status ?? this.finishedStatus(id),
      earlierNamesake: (job) => this.jobs.hasEarlierNamesake(job),
    };
    /** Per array with a `%N` limit: how many more of its tasks may start in this pass. */
    const taskBudget = new Map<number, number>();
    const budgetOf = (a: ArrayTask) => {
      let left = taskBudget.get(a.arrayJobId);
      if (left === undefined) {
        let started = 0;
        for (const id of this.jobs.arrayTasks(a.arrayJobId).values()) if (this.jobs.get(id)?.status !== JobStatus.Pending) started++;
        taskBudget.set(a.arrayJobId, (left = a.maxRunning - started));
      }
      return left;
    };
    for (const job of this.jobs.pendingWithGates()) {
      if (job.status !== JobStatus.Pending || job.spec.hold) continue;
      let gate = gateOf(job, now.wall, others);
      const array = job.spec.array;
      if (gate.state === "ready" && array && array.maxRunning > 0) {
        const left = budgetOf(array);
        if (left > 0) taskBudget.set(array.arrayJobId, left - 1);
        else gate = { state: "waiting", reason: "JobArrayTaskLimit" };
      }
      if (gate.state === "ready") continue;
      if (job.spec.beginTime > now.wall) this.nextBeginAt = Math.min(this.nextBeginAt, job.spec.beginTime);
      if (gate.state === "never" && job.spec.killOnInvalidDep) {
        job.reason = gate.reason;
        this.endJob(fx, job, JobStatus.Cancelled, 0, gate.reason);
        continue;
      }
      gated.add(job.jobId);
      const reason = gate.state === "never" ? "DependencyNeverSatisfied" : gate.reason;
      if (job.pendingReason !== reason) {
        job.pendingReason = reason;
        if (gate.state === "never") job.reason = gate.reason;
        fx.add({ kind: "notify", job });
      }
    }
    return gated;
  }

  private startJob(fx: EffectList, job: JobRecord, nodes: string[], perNode: Resources, now: Now): void {
    if (!this.move(job, JobStatus.Configuring, `job ${job.jobId}`)) return;
    Object.assign(job, { pendingReason: "", nodes, allocPerNode: perNode, startTime: now.wall, nextStepId: 2 });
    job.steps = initialSteps(job, nodes, perNode);
    this.startedMono.set(job, now.mono);
    // Its steps are launched once the start is on disk (launchStarted).
    fx.add({ kind: "save", job, thenLaunch: true });
  }

  /** A started job is on disk: launch its pod, or its primary step (a container primary starts with its pod). */
  launchStarted(job: JobRecord, now: Now): Effect[] {
    const fx = new EffectList(now);
    if (job.status !== JobStatus.Configuring) return [];
    const pod = findStep(job, DAEMON_STEP);
    const primary = findStep(job, PRIMARY_STEP)!;
    if (pod) this.dispatch(fx, job, pod);
    // (A batch primary of a `cbatch --pod` job waits for its pod to run: see stepRunning.)
    if (!pod || (primary.containerMeta && job.status === JobStatus.Configuring)) this.dispatch(fx, job, primary);
    return fx.list();
  }

  // ------------------------------------------------------------------ steps

  /** A new step of a running job was saved: it starts now if its job is ready for steps, else when it is. */
  stepAdded(job: JobRecord, step: StepRecord, now: Now): Effect[] {
    const fx = new EffectList(now);
    if (job.status === JobStatus.Running || job.status === JobStatus.Starting) this.dispatchAdded(fx, job, step);
    return fx.list();
  }

  /**
   * A node could not be asked to start the step: its failure, as if the node had reported it. A node that refused
   * for its own sake (`nodeUnfit`: its disk is full) gets no new job for a while, and a job of which nothing ran yet
   * goes back to the queue instead of failing.
   */
  launchFailed(job: JobRecord, step: StepRecord, node: string, reason: string, now: Now, nodeUnfit = false): Effect[] {
    const fx = new EffectList(now);
    if (this.jobs.get(job.jobId) !== job) return [];
    const entry = this.nodes.get(node);
    if (nodeUnfit && entry) {
      entry.unfitUntilMono = now.mono + NODE_UNFIT_MS;
      fx.add({ kind: "nodeChanged", node });
    }
    if (nodeUnfit && nothingOfTheUserRan(job)) {
      this.requeue(fx, job, reason);
      fx.add({ kind: "reschedule" });
      return fx.list();
    }
    this.report(fx, job, step, node, { status: JobStatus.Failed, reason }, now.wall);
    return fx.list();
  }

  /** A node reports a step's progress on it. Idempotent: duplicates and late reports change nothing. */
  stepReport(r: StepStatusChangeRequest, now: Now): Effect[] {
    const fx = new EffectList(now);
    const job = this.jobs.get(r.jobId);
    const step = job && findStep(job, r.stepId);
    if (!job || !step || !step.nodes.includes(r.node)) return [];
    this.report(fx, job, step, r.node, r, r.timestamp || now.wall);
    return fx.list();
  }

  // ------------------------------------------------------------------ ending

  /** The node has freed the job. */
  nodeFreed(job: JobRecord, node: string, now: Now): Effect[] {
    const fx = new EffectList(now);
    this.freedOn(fx, job, node);
    return fx.list();
  }

  // ------------------------------------------------------------------ users

  /**
   * Cancels a job (stepId undefined) or one of its steps; a running step gets SIGTERM, then SIGKILL after
   * `graceSeconds`. The error is "" on success.
   */
  cancel(
    job: JobRecord,
    stepId: number | undefined,
    caller: { uid: number },
    graceSeconds: number | undefined,
    now: Now,
  ): { error: string; effects: Effect[] } {
    const fx = new EffectList(now);
    const refused = (error: string) => ({ error, effects: [] });
    if (!this.mayControl(caller.uid, job)) return refused("Permission denied: the job belongs to another user");
    if (stepId === undefined) {
      if (job.status !== JobStatus.Completing) {
        job.endRequested = JobStatus.Cancelled;
        job.reason = "cancelled by user";
        this.endJob(fx, job, JobStatus.Cancelled, 0, job.reason);
      }
      return { error: "", effects: fx.list() };
    }
    const step = findStep(job, stepId);
    if (!step || stepId === DAEMON_STEP) return refused(`step ${stepId} does not exist in job ${job.jobId}`);
    if (isTerminal(step.status)) return refused(`step ${job.jobId}.${stepId} has already finished`);
    step.endRequested = JobStatus.Cancelled;
    if (stepId === PRIMARY_STEP) {
      job.endRequested = JobStatus.Cancelled;
      job.reason = "primary step cancelled by user";
    }
    if (step.status === JobStatus.Pending) {
      for (const n of step.nodes) step.perNode[n] = { status: JobStatus.Cancelled, exitCode: 0, reason: "cancelled before it started", containerId: "" };
      this.aggregate(fx, job, step, now.wall);
    } else {
      this.terminate(fx, job, step, JobStatus.Cancelled, "cancelled by user", graceSeconds);
    }
    fx.save(job);
    return { error: "", effects: fx.list() };
  }

  // ------------------------------------------------------------------ nodes

  /** A craned (re)registered, listing the steps it still holds: returns those it should drop. */
  nodeRegistered(node: NodeEntry, held: HeldStep[], now: Now): { orphans: HeldStep[]; effects: Effect[] } {
    const fx = new EffectList(now);
    const orphans: HeldStep[] = [];
    const endedHere = new Set<number>();
    const reported = new Set(held.map((s) => `${s.jobId}.${s.stepId}`));
    for (const s of held) {
      const job = this.jobs.get(s.jobId);
      const step = job && findStep(job, s.stepId);
      const jobEndedHere = !job || (job.status === JobStatus.Completing && !job.pendingFree.includes(node.name));
      if (jobEndedHere || !step || isTerminal(step.status)) orphans.push(s);
      if (jobEndedHere) endedHere.add(s.jobId);
    }
    // Jobs that ended while the node was away were never freed there: their cgroups and step state would stay.
    for (const jobId of endedHere) fx.add({ kind: "freeEnded", jobId, node: node.name });
    for (const job of [...this.jobs.values()]) {
      if (!job.nodes.includes(node.name) || job.status === JobStatus.Pending) continue;
      for (const step of job.steps) {
        const mine = step.perNode[node.name];
        if (!mine || isTerminal(mine.status) || reported.has(`${job.jobId}.${step.stepId}`)) continue;
        // ctld believes the step runs there but the node does not: it was lost with the node.
        this.report(fx, job, step, node.name, { ...mine, status: JobStatus.Failed, reason: `lost: node ${node.name} restarted without it` }, now.wall);
      }
      if (job.status === JobStatus.Completing && job.pendingFree.includes(node.name)) fx.add({ kind: "free", job, node: node.name });
    }
    fx.add({ kind: "reschedule" });
    fx.add({ kind: "nodeChanged", node: node.name });
    return { orphans, effects: fx.list() };
  }

  private nodeDown(fx: EffectList, node: NodeEntry): void {
    this.log.warn(`node ${node.name} is down: ${node.reason}`);
    fx.add({ kind: "nodeChanged", node: node.name });
    for (const job of [...this.jobs.values()]) {
      if (job.status === JobStatus.Pending || !job.nodes.includes(node.name)) continue;
      if (job.status === JobStatus.Completing) this.freedOn(fx, job, node.name);
      else if (this.config.jobRequeue && job.spec.type === JobType.Batch) this.requeue(fx, job, `node ${node.name} went down`);
      else {
        job.reason = `node ${node.name} went down`;
        this.endJob(fx, job, JobStatus.Failed, 0, job.reason);
      }
    }
    fx.add({ kind: "reschedule" });
  }

  // ------------------------------------------------------------------ time

  /** Once a second: nodes silent past the timeout are down, ending jobs are freed again, time limits end jobs. */
  tick(now: Now): Effect[] {
    const fx = new EffectList(now);
    const timeoutMs = this.config.cranedTimeoutSeconds * 1000;
    // After a ctld restart, every node gets a full timeout to come back before it is declared down.
    if (now.mono - this.startedAtMono > timeoutMs) {
      for (const n of this.nodes.nodes.values()) {
        if (!n.registered && !n.up && n.lastSeen === 0 && n.reason === "not registered yet") {
          n.reason = "never registered";
          this.nodeDown(fx, n);
        }
      }
    }
    for (const node of this.nodes.expire(timeoutMs, now.mono)) this.nodeDown(fx, node);
    for (const n of this.nodes.nodes.values()) {
      // A node's unfit spell is over: the jobs waiting for it may start there now.
      if (n.unfitUntilMono !== undefined && n.unfitUntilMono <= now.mono) {
        n.unfitUntilMono = undefined;
        fx.add({ kind: "reschedule" });
        fx.add({ kind: "nodeChanged", node: n.name });
      }
    }
    if (now.wall >= this.nextBeginAt) {
      this.nextBeginAt = Infinity;
      fx.add({ kind: "reschedule" });
    }
    for (const job of [...this.jobs.values()]) {
      if (job.status === JobStatus.Pending) continue;
      if (job.status === JobStatus.Completing) {
        const before = job.pendingFree.length;
        job.pendingFree = job.pendingFree.filter((n) => this.mayStillFree(n, now.mono));
        if (job.pendingFree.length === 0) this.finish(fx, job);
        else {
          this.free(fx, job);
          if (job.pendingFree.length !== before) fx.save(job);
        }
        continue;
      }
      if (job.spec.timeLimitSeconds && !job.endRequested && this.runningFor(job, now) > job.spec.timeLimitSeconds * 1000) {
        job.endRequested = JobStatus.ExceedTimeLimit;
        job.reason = `time limit of ${job.spec.timeLimitSeconds} s reached`;
        this.endJob(fx, job, JobStatus.ExceedTimeLimit, 0, job.reason);
      }
      for (const step of job.steps) {
        const limitMs = step.timeLimitSeconds * 1000;
        if (step.stepId < 2 || !limitMs || step.status !== JobStatus.Running || step.endRequested) continue;
        if (this.runningFor(step, now) > limitMs) {
          step.endRequested = JobStatus.ExceedTimeLimit;
          this.terminate(fx, job, step, JobStatus.ExceedTimeLimit, "step time limit reached");
        }
      }
    }
    return fx.list();
  }
}
