// ctld's shell around the lifecycle: it admits jobs and steps, runs scheduling passes and clock ticks, and carries
// out the effects the lifecycle returns (lifecycle/): launches and frees through the node client, saves through
// the store, notifications to watchers. Every transition is saved before the RPC that caused it is answered.
import type { CraneConfig } from "../../core/config";
import {
  ErrCode,
  JobStatus,
  type JobSpec,
  type ModifyJobReply,
  type ModifyJobRequest,
  type ModifyNodeReply,
  type ModifyNodeRequest,
  type StepSpec,
  type StepStatusChangeRequest,
} from "../../core/generated/crane/crane";
import type { Logger } from "../../core/log";
import { isAdminUid } from "../../core/identity";
import { monotonicMs } from "../../core/clock";
import { PRIMARY_STEP, type JobRecord, type StepRecord } from "./records";
import type { NodeEntry, NodeRegistry } from "./nodes";
import { LaunchRefused, NodeClient } from "./node-client";
import type { JobStore } from "./store";
import { allocatedByNode } from "./allocations";
import type { Resources } from "./scheduler";
import { admitJob, type AdmissionContext } from "./admission";
import { admitStep } from "./step-admission";
import { stepToD } from "./step-dispatch";
import { Rejection } from "./rejection";
import { ActiveJobs } from "./active-jobs";
import { FinishedJobs } from "./finished-jobs";
import { checkArraySubmission, checkJobSubmission } from "./limits";
import { modifyJobs, modifyNodes } from "./control";
import { arrayTaskSpec } from "./arrays";
import { Lifecycle, type Effect, type HeldStep, type Now } from "./lifecycle";

export { Rejection };

const IDLE_RESCHEDULE_MS = 30_000;
const SAVE_RETRY_MS = 1000;

/** What JobManager tells about changes (WatchCluster, see watch.ts). Cheap when nobody watches. */
export interface ChangeListener {
  /** These jobs changed (saved, or a pending reason moved). */
  jobs(records: Iterable<JobRecord>): void;
  /** A node went up or down, or its configuration changed. */
  node(name: string): void;
}

export class JobManager {
  readonly jobs = new ActiveJobs(); // active (not finished) jobs, counted per uid
  readonly nodeClient: NodeClient;
  private readonly lifecycle: Lifecycle;
  private readonly finished: FinishedJobs;
  private scheduleDirty = true;
  private kickPending = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly freeing = new Set<string>(); // "<job>@<node>" FreeJob calls in flight
  /** Registry credentials of not-yet-launched container steps: kept in memory only, never saved. */
  private readonly credentials = new Map<string, { username: string; password: string }>();
  changes?: ChangeListener;
  /** Counts submissions and times scheduling cycles (the /metrics endpoint, see metrics.ts). */
  metrics?: { onSubmit(accepted: boolean): void; onScheduleCycle(seconds: number): void };

  constructor(
    readonly config: CraneConfig,
    readonly store: JobStore,
    readonly nodes: NodeRegistry,
    private readonly log: Logger,
  ) {
    this.nodeClient = new NodeClient(nodes);
    this.lifecycle = new Lifecycle(this.jobs, nodes, config, log, monotonicMs());
    this.finished = new FinishedJobs(store);
    this.lifecycle.finishedStatus = (jobId) => this.finished.statusOf(jobId);
    const quarantined = (jobId: number, why: string) =>
      log.error(`job ${jobId}: its saved record cannot be read (${why}); moved to the database's quarantine table`);
    for (const job of store.loadActive(quarantined)) this.jobs.set(job.jobId, job);
    store.onCommit = (saved) => this.changes?.jobs(saved);
    log.info(`recovered ${this.jobs.size} active jobs from the database`);
    for (const [name, reason] of Object.entries(store.loadNodeDrains())) {
      const node = nodes.get(name);
      if (node) node.drainReason = reason;
    }
  }

  start(): void {
    this.timers.push(setInterval(() => this.scheduleCycle(), this.config.scheduleIntervalMs));
    this.timers.push(setInterval(() => void this.apply(this.lifecycle.tick(this.now())), 1000));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  private now(): Now {
    return { wall: Date.now(), mono: monotonicMs() };
  }

  // ------------------------------------------------------------------ admission

  /** Validates a submission and turns it into a pending job record (not yet saved): see admission.ts. */
  admitJob(spec: JobSpec, caller: { uid: number; gid: number }): JobRecord {
    return admitJob(spec, caller, this.admission());
  }

  private admission(): AdmissionContext {
    return { config: this.config, node: (name) => this.nodes.get(name), isAdmin: (uid) => this.isAdmin(uid), now: Date.now() };
  }

  isAdmin(uid: number): boolean {
    return isAdminUid(uid, this.config.adminUids);
  }

  mayControl(uid: number, job: JobRecord): boolean {
    return this.lifecycle.mayControl(uid, job);
  }

  async submitJob(spec: JobSpec, caller: { uid: number; gid: number }): Promise<number> {
    try {
      const jobId = await this.acceptJob(spec, caller);
      this.metrics?.onSubmit(true);
      return jobId;
    } catch (e) {
      this.metrics?.onSubmit(false);
      throw e;
    }
  }

  private async acceptJob(spec: JobSpec, caller: { uid: number; gid: number }): Promise<number> {
    // Only ctld makes a job an array task: what a client sends in that field is dropped.
    if (spec.arrayTaskIds.length === 0) return this.acceptOne({ ...spec, array: undefined }, caller);
    return this.acceptArray(spec, caller);
  }

  /**
   * `--array`: a job per task id, the first task's job id being the array's. The first task is admitted alone, so a
   * refusal refuses the whole array before any of it exists.
   */
  private async acceptArray(spec: JobSpec, caller: { uid: number; gid: number }): Promise<number> {
    const taskIds = [...new Set(spec.arrayTaskIds)].sort((a, b) => a - b);
    checkArraySubmission(taskIds.length, caller, this.config.limits, this.jobs.countOf(caller.uid));
    const arrayJobId = this.store.peekNextJobId();
    const task = (taskId: number) => arrayTaskSpec(spec, arrayJobId, taskIds, taskId);
    // Queued synchronously: the first task gets the id peeked, and a refusal of it comes before any other task.
    const first = this.queueNew(task(taskIds[0]!), caller);
    const rest = taskIds.slice(1).map(async (t) => this.persistNew(this.queueNew(task(t), caller)));
    if (first.jobId !== arrayJobId) this.log.error(`array ${arrayJobId}: its first task got job id ${first.jobId}`);
    await this.persistNew(first);
    const failed = (await Promise.allSettled(rest)).filter((r) => r.status === "rejected");
    if (failed.length) this.log.error(`array ${arrayJobId}: ${failed.length} of its ${taskIds.length} tasks were not accepted`);
    return arrayJobId;
  }

  private acceptOne(spec: JobSpec, caller: { uid: number; gid: number }): Promise<number> {
    return this.persistNew(this.queueNew(spec, caller));
  }

  /** Admits the job and queues it with a new id, synchronously (throws the Rejection); persistNew saves it. */
  private queueNew(spec: JobSpec, caller: { uid: number; gid: number }): JobRecord {
    checkJobSubmission(spec, caller, this.config, this.jobs.countOf(caller.uid));
    // A dependency names jobs that exist (active or finished), as Slurm requires.
    for (const id of spec.dependencies.flatMap((d) => d.jobIds)) {
      if (!this.findJob(id)) throw new Rejection(ErrCode.ERR_INVALID_PARAM, `invalid dependency: job ${id} does not exist`);
    }
    const job = this.admitJob(spec, caller);
    job.jobId = this.store.allocateJobId();
    const image = spec.containerMeta?.image;
    if (image?.username) this.credentials.set(`${job.jobId}.${PRIMARY_STEP}`, { username: image.username, password: image.password });
    this.jobs.set(job.jobId, job);
    return job;
  }

  private async persistNew(job: JobRecord): Promise<number> {
    try {
      await this.store.save(job);
    } catch (e) {
      // Not on disk, so not accepted: the caller is told so and the job must not run.
      this.jobs.delete(job.jobId);
      this.credentials.delete(`${job.jobId}.${PRIMARY_STEP}`);
      this.log.error(`job ${job.jobId} not accepted: saving it failed: ${(e as Error).message}`);
      throw new Rejection(
        ErrCode.ERR_GENERIC_FAILURE,
        `ctld could not save the job, so it was not accepted (${(e as Error).message}); ` +
          `${/full|SQLITE_FULL|ENOSPC/i.test((e as Error).message) ? "its disk is full: " : ""}submit again once an administrator has fixed ${this.config.ctldStateDir}`,
      );
    }
    this.markScheduleDirty();
    return job.jobId;
  }

  /** A user's request for a new step inside a running job (crun, ccon run inside a job): see step-admission.ts. */
  async submitStep(spec: StepSpec, caller: { uid: number; gid: number }): Promise<number> {
    const job = this.jobs.get(spec.jobId);
    const step = admitStep(job, spec, caller, this.admission());
    if (!job) throw new Error("unreachable: admitStep refuses a missing job");
    job.nextStepId = step.stepId + 1;
    const key = `${job.jobId}.${step.stepId}`;
    const image = spec.containerMeta?.image;
    if (image?.username) this.credentials.set(key, { username: image.username, password: image.password });
    job.steps.push(step);
    try {
      await this.store.save(job);
    } catch (e) {
      job.steps = job.steps.filter((x) => x !== step);
      this.credentials.delete(key);
      throw e;
    }
    await this.apply(this.lifecycle.stepAdded(job, step, this.now()));
    return step.stepId;
  }

  // ------------------------------------------------------------------ scheduling

  /** Resources held by jobs on each node (see allocations.ts). */
  allocatedByNode(): Map<string, Resources> {
    return allocatedByNode(this.jobs);
  }

  scheduleCycle(): void {
    if (!this.scheduleDirty) return;
    this.scheduleDirty = false;
    const started = monotonicMs();
    const pass = this.lifecycle.schedulePass(this.now());
    this.metrics?.onScheduleCycle((monotonicMs() - started) / 1000);
    if (pass.again) this.markScheduleDirty();
    void this.apply(pass.effects);
    // Time alone opens no room (backfill windows only shrink; what frees resources marks the schedule dirty), so
    // a queue where nothing changes is looked at again only rarely, as a safety net.
    if (pass.waiting) setTimeout(() => (this.scheduleDirty = true), IDLE_RESCHEDULE_MS).unref();
  }

  /** Something changed: run a scheduling cycle soon (coalescing a burst of submissions into one cycle). */
  markScheduleDirty(): void {
    this.scheduleDirty = true;
    if (this.kickPending) return;
    this.kickPending = true;
    setTimeout(() => {
      this.kickPending = false;
      this.scheduleCycle();
    }, 5).unref();
  }

  // ------------------------------------------------------------------ events from craneds and users

  /** A node reports a step's progress on it; answered once the change is on disk. */
  async onStepReport(r: StepStatusChangeRequest): Promise<void> {
    await this.apply(this.lifecycle.stepReport(r, this.now()), "await");
  }

  /** A craned (re)registers, telling which steps it still holds; returns the steps it should drop. */
  async onNodeRegister(node: NodeEntry, held: HeldStep[]): Promise<HeldStep[]> {
    const { orphans, effects } = this.lifecycle.nodeRegistered(node, held, this.now());
    await this.apply(effects, "await");
    return orphans;
  }

  /** Cancels a job (stepId undefined) or one step; returns an error text, or "" on success. */
  async cancel(jobId: number, stepId: number | undefined, caller: { uid: number }, graceSeconds?: number): Promise<string> {
    const job = this.jobs.get(jobId);
    if (!job) return "job does not exist or has already finished";
    const { error, effects } = this.lifecycle.cancel(job, stepId, caller, graceSeconds, this.now());
    if (!error) await this.apply(effects, "await");
    return error;
  }

  /** ccontrol hold / release / update job: see control.ts. Answered once the changes are on disk. */
  async modifyJobs(req: ModifyJobRequest, caller: { uid: number }): Promise<ModifyJobReply> {
    const reply = await modifyJobs(
      req,
      { uid: caller.uid, isAdmin: this.isAdmin(caller.uid) },
      { jobs: this.jobs, store: this.store, log: this.log, admission: () => this.admission() },
    );
    if (reply.modified.length) this.markScheduleDirty();
    return reply;
  }

  /** ccontrol update node state=drain|resume (administrators only): see control.ts. Kept across restarts. */
  modifyNodes(req: ModifyNodeRequest, caller: { uid: number }): ModifyNodeReply {
    const reply = modifyNodes(req, { uid: caller.uid, isAdmin: this.isAdmin(caller.uid) }, this.nodes, this.store, this.log);
    for (const n of reply.modified) this.changes?.node(n);
    if (reply.modified.length) this.markScheduleDirty();
    return reply;
  }

  /** A job by id: active, finished but not yet saved, or finished (from the store). */
  findJob(jobId: number): JobRecord | undefined {
    return this.jobs.get(jobId) ?? this.finished.find(jobId);
  }

  /** Finished jobs, newest first, including those whose final save is still in flight. */
  loadFinished(limit: number, jobIds?: number[]): JobRecord[] {
    return this.finished.load(limit, jobIds);
  }

  // ------------------------------------------------------------------ effects

  /**
   * Carries out the lifecycle's effects. With "await", the promise settles once the saves are on disk (or the
   * first attempt failed, for an RPC to report); either way a failed save is retried until it succeeds.
   */
  private apply(effects: Effect[], saves: "await" | "retry" = "retry"): Promise<void> {
    const awaited: Promise<void>[] = [];
    for (const e of effects) {
      switch (e.kind) {
        case "launch":
          this.launch(e.job, e.step, e.nodes);
          break;
        case "terminate":
          for (const node of e.nodes) {
            const req = { jobId: e.job.jobId, stepId: e.step.stepId, reasonStatus: e.reasonStatus, reason: e.reason, graceSeconds: e.graceSeconds, signal: "" };
            this.nodeClient
              .terminate(node, req)
              .catch((err: Error) => this.log.warn(`terminating ${req.jobId}.${req.stepId} on ${node} failed: ${err.message}`));
          }
          break;
        case "free":
          this.free(e.job, e.node);
          break;
        case "freeEnded":
          this.nodeClient.free(e.node, e.jobId).catch((err: Error) => this.log.warn(`freeing job ${e.jobId} on ${e.node} failed: ${err.message}`));
          break;
        case "save":
          this.save(
            e.job,
            e.thenLaunch ? () => void this.apply(this.lifecycle.launchStarted(e.job, this.now())) : undefined,
            saves === "await" ? awaited : undefined,
          );
          break;
        case "finished":
          this.onFinished(e.job, saves === "await" ? awaited : undefined);
          break;
        case "notify":
          this.changes?.jobs([e.job]);
          break;
        case "nodeChanged":
          this.changes?.node(e.node);
          break;
        case "reschedule":
          this.scheduleDirty = true;
          break;
      }
    }
    return Promise.all(awaited).then(() => undefined);
  }

  private launch(job: JobRecord, step: StepRecord, nodes: string[]): void {
    const key = `${job.jobId}.${step.stepId}`;
    const registry = this.credentials.get(key);
    this.credentials.delete(key);
    for (const node of nodes) {
      this.nodeClient.execute(node, stepToD(job, step, node, this.nodes, registry)).catch((e: Error) => {
        this.log.warn(`launching step ${key} on ${node} failed: ${e.message}`);
        const nodeUnfit = e instanceof LaunchRefused && e.nodeUnfit;
        void this.apply(this.lifecycle.launchFailed(job, step, node, `launch on node ${node} failed: ${e.message}`, this.now(), nodeUnfit));
      });
    }
  }

  private free(job: JobRecord, node: string): void {
    const key = `${job.jobId}@${node}`;
    if (this.freeing.has(key)) return;
    this.freeing.add(key);
    this.nodeClient
      .free(node, job.jobId)
      .then((ok) => {
        if (ok) void this.apply(this.lifecycle.nodeFreed(job, node, this.now()));
      })
      .catch((e: Error) => this.log.warn(`freeing job ${job.jobId} on ${node} failed (will retry): ${e.message}`))
      .finally(() => this.freeing.delete(key));
  }

  private onFinished(job: JobRecord, awaited?: Promise<void>[]): void {
    for (const s of job.steps) this.credentials.delete(`${job.jobId}.${s.stepId}`);
    this.finished.add(job);
    this.save(job, () => this.finished.saved(job), awaited);
    this.log.info(`job ${job.jobId} ended ${JobStatus[job.status]} (exit ${job.exitCode})${job.reason ? `: ${job.reason}` : ""}`);
  }

  /**
   * Saves a job, then runs `onSaved`. A failed save is retried in the background until it is on disk (a failing
   * disk must neither crash ctld nor lose a change); the first attempt joins `awaited`, for an RPC to report.
   */
  private save(job: JobRecord, onSaved?: () => void, awaited?: Promise<void>[]): void {
    const attempt = this.store.save(job).then(() => onSaved?.());
    attempt.catch((e: Error) => {
      this.log.error(`saving job ${job.jobId} failed (will retry): ${e.message}`);
      setTimeout(() => this.save(job, onSaved), SAVE_RETRY_MS).unref();
    });
    awaited?.push(attempt);
  }
}
