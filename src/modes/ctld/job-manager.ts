// The heart of ctld: admits jobs and steps, runs the scheduler, dispatches to craneds and turns the facts
// craneds report (step started, exited with code N, node lost) into job and step state transitions.
// Every transition is saved before the RPC that caused it is answered.
import type { CraneConfig } from "../../core/config";
import { ErrCode, JobStatus, JobType, type JobSpec, type StepSpec, type StepStatusChangeRequest, type StepToD } from "../../core/generated/crane/crane";
import { canTransition, combineTerminal, isTerminal } from "../../core/job-state";
import type { Logger } from "../../core/log";
import { isAdminUid } from "../../core/identity";
import { monotonicMs, monotonicOf } from "../../core/clock";
import { DAEMON_STEP, PRIMARY_STEP, findStep, newStep, type JobRecord, type StepRecord } from "./records";
import { NodeRegistry, type NodeEntry } from "./nodes";
import { NodeClient } from "./node-client";
import { JobStore } from "./store";
import { stepDevices } from "./devices";
import { allocatedByNode, assignJobDevices, buildSnapshot, heldDevices, stepDeviceMap } from "./allocations";
import type { ChangeListener } from "./watch";
import { schedule, type Resources } from "./scheduler";
import { admitJob, checkContainer, type AdmissionContext } from "./admission";
import { Rejection } from "./rejection";
import { ActiveJobs } from "./active-jobs";
import { checkJobSubmission, checkStepSubmission, scheduleUnderUserLimit } from "./limits";

export { Rejection };

const IDLE_RESCHEDULE_MS = 30_000;

export class JobManager {
  readonly jobs = new ActiveJobs(); // active (not finished) jobs, counted per uid
  readonly nodeClient: NodeClient;
  private scheduleDirty = true;
  private kickPending = false;
  private timers: NodeJS.Timeout[] = [];
  private freeing = new Set<string>(); // "<job>@<node>" FreeJob calls in flight
  private readonly startedAt = monotonicMs();
  /** When each running job and step started, on the monotonic clock (time limits are measured on it). */
  private readonly startedMono = new WeakMap<object, number>();
  /** Registry credentials of not-yet-dispatched container steps: kept in memory only, never saved. */
  private credentials = new Map<string, { username: string; password: string }>();
  /** Told about job and node changes (for WatchCluster, see watch.ts): saved jobs via the store, the rest here. */
  changes?: ChangeListener;
  /** Finished jobs whose final save has not committed yet: still answered from memory, so no query misses them. */
  private readonly finishing = new Map<number, JobRecord>();

  constructor(
    readonly config: CraneConfig,
    readonly store: JobStore,
    readonly nodes: NodeRegistry,
    private readonly log: Logger,
  ) {
    this.nodeClient = new NodeClient(nodes);
    const quarantined = (jobId: number, why: string) =>
      log.error(`job ${jobId}: its saved record cannot be read (${why}); moved to the database's quarantine table`);
    for (const job of store.loadActive(quarantined)) this.jobs.set(job.jobId, job);
    store.onCommit = (saved) => this.changes?.jobs(saved);
    log.info(`recovered ${this.jobs.size} active jobs from the database`);
  }

  start(): void {
    this.timers.push(setInterval(() => this.scheduleCycle(), this.config.scheduleIntervalMs));
    this.timers.push(setInterval(() => this.housekeeping(), 1000));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
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

  async submitJob(spec: JobSpec, caller: { uid: number; gid: number }): Promise<number> {
    checkJobSubmission(spec, caller, this.config, this.jobs.countOf(caller.uid));
    const job = this.admitJob(spec, caller);
    job.jobId = this.store.allocateJobId();
    const image = spec.containerMeta?.image;
    if (image?.username) this.credentials.set(`${job.jobId}.${PRIMARY_STEP}`, { username: image.username, password: image.password });
    this.jobs.set(job.jobId, job);
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

  /** A user's request for a new step inside a running job (crun, ccon run inside a job). */
  async submitStep(spec: StepSpec, caller: { uid: number; gid: number }): Promise<number> {
    const job = this.jobs.get(spec.jobId);
    if (!job || job.status === JobStatus.Completing) {
      throw new Rejection(ErrCode.ERR_INVALID_JOB_ID, `job ${spec.jobId} does not exist or is not running`);
    }
    if (caller.uid !== job.spec.uid && caller.uid !== 0) {
      throw new Rejection(ErrCode.ERR_PERMISSION_DENIED, `job ${spec.jobId} belongs to another user; a step must run as the job's user`);
    }
    const isContainer = spec.type === JobType.Container;
    if (isContainer && !this.config.container.enabled) {
      throw new Rejection(ErrCode.ERR_CRI_DISABLED, "CRI support is disabled in the cluster.");
    }
    if (isContainer && job.spec.type !== JobType.Container) {
      throw new Rejection(
        ErrCode.ERR_JOB_NOT_CONTAINER,
        `job ${job.jobId} is not a container job: submit it with 'ccon run' or 'cbatch --pod' to run container steps in it`,
      );
    }
    if (isContainer && !spec.containerMeta?.image?.image) {
      throw new Rejection(ErrCode.ERR_INVALID_PARAM, "a container step needs an image");
    }
    if (isContainer)
      checkContainer(this.admission(), job.spec.podMeta, spec.containerMeta, {
        uid: job.spec.uid,
        gid: job.spec.gid,
        submitDir: spec.cwd || job.spec.submitDir,
      });
    if (job.status === JobStatus.Pending) {
      throw new Rejection(ErrCode.ERR_INVALID_JOB_ID, `job ${spec.jobId} is still pending: steps can be added once it runs`);
    }
    const stepNodes = this.pickStepNodes(job, spec);
    checkStepSubmission(spec, this.config, job.nodes);
    const alloc = job.allocPerNode;
    const cpusPerTask = spec.cpusPerTask || 0;
    const ntasksPerNode = spec.ntasksPerNode || (spec.ntasks ? Math.ceil(spec.ntasks / stepNodes.length) : 0);
    const res: Resources = {
      cpu: cpusPerTask ? cpusPerTask * (ntasksPerNode || 1) : alloc.cpu,
      memoryBytes: spec.memPerNode || alloc.memoryBytes,
      gres: spec.gresGiven ? { ...spec.gresPerNode } : { ...alloc.gres },
    };
    const beyond: string[] = [];
    if (res.cpu > alloc.cpu + 1e-9) beyond.push(`${res.cpu} CPUs per node > job's ${alloc.cpu}`);
    if (res.memoryBytes > alloc.memoryBytes) beyond.push(`memory ${res.memoryBytes} B per node > job's ${alloc.memoryBytes} B`);
    for (const [k, v] of Object.entries(res.gres)) {
      if (v > (alloc.gres[k] ?? 0)) beyond.push(`${k}:${v} > job's ${alloc.gres[k] ?? 0}`);
    }
    if (beyond.length > 0) {
      throw new Rejection(ErrCode.ERR_STEP_RES_BEYOND, `Step resource request exceeds the job's allocation: ${beyond.join("; ")}`);
    }
    const stepId = Math.max(job.nextStepId, 2);
    job.nextStepId = stepId + 1;
    const image = spec.containerMeta?.image;
    if (image?.username) this.credentials.set(`${job.jobId}.${stepId}`, { username: image.username, password: image.password });
    const step = newStep({
      stepId,
      name: spec.name || spec.argv[0] || (isContainer ? "container" : "step"),
      type: spec.type,
      uid: job.spec.uid,
      nodes: stepNodes,
      resPerNode: res,
      submitTime: Date.now(),
      timeLimitSeconds: spec.timeLimitSeconds,
      cmdLine: spec.cmdLine,
      cwd: spec.cwd || job.spec.cwd,
      env: spec.env,
      argv: spec.argv,
      ntasksPerNode: ntasksPerNode || 1,
      containerMeta: spec.containerMeta && {
        ...spec.containerMeta,
        image: spec.containerMeta.image && { ...spec.containerMeta.image, username: "", password: "" },
      },
      io: spec.io,
      isBatchPrimary: false,
    });
    job.steps.push(step);
    try {
      await this.store.save(job);
    } catch (e) {
      job.steps = job.steps.filter((x) => x !== step);
      this.credentials.delete(`${job.jobId}.${stepId}`);
      throw e;
    }
    if (this.jobReadyForSteps(job)) this.dispatchStep(job, step);
    return stepId;
  }

  private pickStepNodes(job: JobRecord, spec: StepSpec): string[] {
    for (const n of spec.nodelist) {
      if (!job.nodes.includes(n)) {
        throw new Rejection(ErrCode.ERR_NO_ENOUGH_NODE, `node "${n}" is not allocated to job ${job.jobId} (its nodes: ${job.nodes.join(",") || "none yet"})`);
      }
    }
    const candidates = job.nodes.filter((n) => !spec.excludes.includes(n));
    const want = spec.nodeNum || (spec.nodelist.length > 0 ? spec.nodelist.length : candidates.length);
    if (want > candidates.length) {
      throw new Rejection(ErrCode.ERR_NO_ENOUGH_NODE, `step asks for ${want} nodes but job ${job.jobId} has ${candidates.length} usable`);
    }
    const chosen = [...spec.nodelist];
    for (const n of candidates) {
      if (chosen.length >= want) break;
      if (!chosen.includes(n)) chosen.push(n);
    }
    return chosen;
  }

  private jobReadyForSteps(job: JobRecord): boolean {
    return job.status === JobStatus.Running || job.status === JobStatus.Starting;
  }

  // ------------------------------------------------------------------ scheduling

  /** Resources held by jobs on each node (see allocations.ts). */
  allocatedByNode(): Map<string, Resources> {
    return allocatedByNode(this.jobs);
  }

  scheduleCycle(): void {
    if (!this.scheduleDirty) return;
    this.scheduleDirty = false;
    const now = Date.now();
    const snapshot = buildSnapshot(this.jobs, this.nodes, now);
    if (snapshot.pending.length === 0) return;
    const result = scheduleUnderUserLimit(snapshot, this.jobs, this.config.limits.maxJobsPerUser, schedule);
    if (result.again) this.markScheduleDirty();
    this.log.debug(`schedule: ${snapshot.pending.length} pending, ${result.placements.length} placed`);
    for (const [jobId, reason] of result.pending) {
      const job = this.jobs.get(jobId);
      if (job && job.status === JobStatus.Pending && job.pendingReason !== reason) {
        job.pendingReason = reason;
        this.changes?.jobs([job]);
      }
    }
    // Devices held before this cycle's jobs start (computed once, and only when a placement uses GRES).
    const usesGres = result.placements.some((p) => p.allocated.some((a) => Object.keys(a.gres).length > 0));
    const held = usesGres ? heldDevices(this.jobs, this.nodes) : new Map<string, Set<string>>();
    for (const p of result.placements) {
      const job = this.jobs.get(p.jobId);
      if (!job || job.status !== JobStatus.Pending) continue;
      this.startJob(job, p.nodes, p.perNode, now);
      job.allocByNode = Object.fromEntries(p.nodes.map((n, i) => [n, p.allocated[i] ?? p.perNode]));
      // Set before the start's save is flushed (next turn of the event loop), so it is saved with it.
      if (usesGres) assignJobDevices(job, held, this.nodes, this.log);
    }
    // Time alone opens no room (backfill windows only shrink; what frees resources marks the schedule dirty), so
    // a queue where nothing changes is looked at again only rarely, as a safety net.
    if (result.pending.size > 0) setTimeout(() => (this.scheduleDirty = true), IDLE_RESCHEDULE_MS).unref();
  }

  private startJob(job: JobRecord, nodes: string[], perNode: Resources, now: number): void {
    this.move(job, JobStatus.Configuring, `job ${job.jobId}`);
    job.pendingReason = "";
    job.nodes = nodes;
    job.allocPerNode = perNode;
    job.startTime = now;
    this.startedMono.set(job, monotonicMs());
    job.steps = [];
    const spec = job.spec;
    const base = {
      uid: spec.uid,
      resPerNode: perNode,
      submitTime: job.submitTime,
      timeLimitSeconds: spec.timeLimitSeconds,
      cmdLine: spec.cmdLine,
      cwd: spec.cwd,
      env: spec.env,
      ntasksPerNode: spec.ntasksPerNode,
    };
    const isContainer = spec.type === JobType.Container;
    if (isContainer) {
      job.steps.push(newStep({ ...base, stepId: DAEMON_STEP, name: "pod", type: JobType.Container, nodes, argv: [], isBatchPrimary: false }));
    }
    const batchPrimary = spec.type === JobType.Batch || (isContainer && !spec.containerMeta);
    job.steps.push(
      newStep({
        ...base,
        stepId: PRIMARY_STEP,
        name: spec.name,
        type: batchPrimary ? JobType.Batch : spec.type,
        nodes: batchPrimary ? [nodes[0]!] : nodes,
        argv: spec.argv,
        containerMeta: batchPrimary ? undefined : spec.containerMeta,
        io: spec.io,
        isBatchPrimary: batchPrimary,
      }),
    );
    job.nextStepId = 2;
    this.persist(job, () => {
      if (!isContainer) return this.dispatchStep(job, findStep(job, PRIMARY_STEP)!);
      this.dispatchStep(job, findStep(job, DAEMON_STEP)!);
      // A container primary starts along with its pod: its supervisor gets the image ready meanwhile and creates
      // the container once the pod is there. (A batch primary of a `cbatch --pod` job waits for the pod.)
      const primary = findStep(job, PRIMARY_STEP)!;
      if (primary.containerMeta && job.status === JobStatus.Configuring) this.dispatchStep(job, primary);
    });
  }

  // ------------------------------------------------------------------ dispatch

  stepToD(job: JobRecord, step: StepRecord, node: string): StepToD {
    const spec = job.spec;
    const entry = this.nodes.get(node);
    // Devices follow the node's own GRES keys; a step gets the job's devices of each key it uses.
    const { files: deviceFiles, gpuIds } = stepDevices(stepDeviceMap(job, step, node, this.nodes), step.resPerNode.gres, entry?.deviceFiles ?? {});
    const cred = this.credentials.get(`${job.jobId}.${step.stepId}`);
    const containerMeta = step.containerMeta && cred ? { ...step.containerMeta, image: { ...step.containerMeta.image!, ...cred } } : step.containerMeta;
    return {
      jobId: job.jobId,
      stepId: step.stepId,
      jobName: spec.name,
      stepName: step.name,
      jobType: spec.type,
      uid: spec.uid,
      gid: spec.gid,
      username: job.username,
      jobRes: job.allocPerNode,
      stepRes: step.resPerNode,
      jobNodes: job.nodes,
      stepNodes: step.nodes,
      nodeIndex: job.nodes.indexOf(node),
      partition: spec.partition,
      ntasks: spec.ntasks,
      ntasksPerNode: step.ntasksPerNode || 1,
      cpusPerTask: spec.cpusPerTask,
      timeLimitSeconds: step.timeLimitSeconds,
      cwd: step.cwd,
      submitDir: spec.submitDir || spec.cwd,
      submitHost: spec.submitHost,
      env: step.env,
      shScript: step.isBatchPrimary ? spec.shScript : "",
      interpreter: spec.interpreter,
      argv: step.argv,
      io: step.io,
      podMeta: spec.podMeta,
      containerMeta,
      isBatchPrimary: step.isBatchPrimary,
      account: spec.account,
      qos: spec.qos,
      startTime: job.startTime,
      deviceFiles,
      gpuIds,
    };
  }

  private dispatchStep(job: JobRecord, step: StepRecord): void {
    this.move(step, JobStatus.Configuring, `step ${job.jobId}.${step.stepId}`);
    // A launch that cannot happen is the node's failure report, as if the node had sent it.
    const launchFailed = (node: string, reason: string) =>
      void this.onStepReport({
        node,
        jobId: job.jobId,
        stepId: step.stepId,
        status: JobStatus.Failed,
        exitCode: 0,
        reason,
        timestamp: Date.now(),
        containerId: "",
      });
    for (const node of step.nodes) {
      step.perNode[node] = { status: JobStatus.Configuring, exitCode: 0, reason: "", containerId: "" };
      const entry = this.nodes.get(node);
      if (!entry?.client || !entry.up) {
        launchFailed(node, `node ${node} is not available`);
        continue;
      }
      this.nodeClient.execute(node, this.stepToD(job, step, node)).catch((e: Error) => {
        this.log.warn(`launching step ${job.jobId}.${step.stepId} on ${node} failed: ${e.message}`);
        launchFailed(node, `launch on node ${node} failed: ${e.message}`);
      });
    }
    this.credentials.delete(`${job.jobId}.${step.stepId}`);
  }

  /**
   * Every status change goes through the lifecycle's table (core/job-state.ts): an illegal one (a late report
   * reviving a finished step, a finished job ended again) is logged and not made.
   */
  private move(rec: { status: JobStatus }, to: JobStatus, what: string): boolean {
    if (canTransition(rec.status, to)) {
      rec.status = to;
      return true;
    }
    this.log.error(`${what}: refused the illegal transition ${JobStatus[rec.status]} -> ${JobStatus[to]}`);
    return false;
  }

  // ------------------------------------------------------------------ facts from craneds

  /** A node reports a step's progress on it. Idempotent: duplicates and late reports are harmless. */
  async onStepReport(r: StepStatusChangeRequest): Promise<void> {
    const job = this.jobs.get(r.jobId);
    const step = job && findStep(job, r.stepId);
    if (!job || !step) return;
    const prev = step.perNode[r.node];
    if (!step.nodes.includes(r.node)) return;
    if (prev && isTerminal(prev.status)) return;
    step.perNode[r.node] = {
      status: r.status,
      exitCode: r.exitCode,
      reason: r.reason,
      containerId: r.containerId || prev?.containerId || "",
    };
    this.updateStepStatus(job, step, r.timestamp || Date.now());
    await this.store.save(job);
  }

  private updateStepStatus(job: JobRecord, step: StepRecord, at: number): void {
    const states = step.nodes.map((n) => step.perNode[n]?.status ?? JobStatus.Configuring);
    const before = step.status;
    if (states.every(isTerminal)) {
      if (isTerminal(before)) return;
      const reports = step.nodes.map((n) => step.perNode[n]!);
      let status = combineTerminal(states);
      if (step.endRequested !== undefined && status !== JobStatus.Completed) status = step.endRequested;
      if (step.endRequested === JobStatus.ExceedTimeLimit || step.endRequested === JobStatus.Cancelled) status = step.endRequested;
      this.move(step, status, `step ${job.jobId}.${step.stepId}`);
      step.exitCode = reports.find((r) => r.exitCode !== 0)?.exitCode ?? 0;
      step.reason = [...new Set(reports.map((r) => r.reason).filter(Boolean))].join("; ");
      step.endTime = at;
      this.onStepFinished(job, step);
      return;
    }
    if (states.every((s) => s === JobStatus.Running || isTerminal(s))) {
      if (before !== JobStatus.Running) {
        this.move(step, JobStatus.Running, `step ${job.jobId}.${step.stepId}`);
        step.startTime = at;
        this.onStepRunning(job, step);
      }
    } else if (states.some((s) => s === JobStatus.Starting || s === JobStatus.Running) && before !== JobStatus.Running) {
      this.move(step, JobStatus.Starting, `step ${job.jobId}.${step.stepId}`);
    }
  }

  private onStepRunning(job: JobRecord, step: StepRecord): void {
    if (step.stepId === DAEMON_STEP && job.status === JobStatus.Configuring) {
      this.move(job, JobStatus.Starting, `job ${job.jobId}`);
      const primary = findStep(job, PRIMARY_STEP);
      if (primary?.status === JobStatus.Pending) this.dispatchStep(job, primary);
    } else if (step.stepId === PRIMARY_STEP && (job.status === JobStatus.Configuring || job.status === JobStatus.Starting)) {
      this.move(job, JobStatus.Running, `job ${job.jobId}`);
      for (const s of job.steps) if (s.stepId >= 2 && s.status === JobStatus.Pending) this.dispatchStep(job, s);
    }
  }

  private onStepFinished(job: JobRecord, step: StepRecord): void {
    if (job.status === JobStatus.Completing) return;
    if (step.stepId === DAEMON_STEP) {
      this.beginJobEnd(job, JobStatus.Failed, step.exitCode, `pod failed: ${step.reason || "the pod ended unexpectedly"}`);
    } else if (step.stepId === PRIMARY_STEP) {
      this.beginJobEnd(job, step.status, step.exitCode, step.reason);
    }
  }

  /** The job is over: every node is told to stop its steps and free the job's resources. */
  beginJobEnd(job: JobRecord, status: JobStatus, exitCode: number, reason: string): void {
    if (job.status === JobStatus.Completing || isTerminal(job.status)) return;
    job.endRequested = job.endRequested ?? status;
    job.exitCode = exitCode;
    job.reason = job.reason || reason;
    if (job.status === JobStatus.Pending || job.nodes.length === 0) {
      this.finishJob(job);
      return;
    }
    this.move(job, JobStatus.Completing, `job ${job.jobId}`);
    job.pendingFree = job.nodes.filter((n) => this.mayStillFree(n, monotonicMs()));
    for (const s of job.steps) if (!isTerminal(s.status)) s.endRequested = s.endRequested ?? job.endRequested;
    this.freeOnNodes(job);
    if (job.pendingFree.length === 0) this.finishJob(job);
  }

  /**
   * Whether a node can still be told to free a job: it is up, or it has not registered since this ctld
   * started and may still come back within the timeout (it then gets FreeJob when it registers).
   */
  private mayStillFree(node: string, nowMono: number): boolean {
    const n = this.nodes.get(node);
    if (!n) return false;
    return n.up || (!n.registered && nowMono - this.startedAt < this.config.cranedTimeoutSeconds * 1000);
  }

  private freeOnNodes(job: JobRecord): void {
    for (const node of job.pendingFree) {
      const key = `${job.jobId}@${node}`;
      const entry = this.nodes.get(node);
      if (this.freeing.has(key) || !entry?.client || !entry.up) continue;
      this.freeing.add(key);
      this.nodeClient
        .free(node, job.jobId)
        .then((ok) => {
          if (ok) this.onNodeFreed(job, node);
        })
        .catch((e: Error) => this.log.warn(`freeing job ${job.jobId} on ${node} failed (will retry): ${e.message}`))
        .finally(() => this.freeing.delete(key));
    }
  }

  private onNodeFreed(job: JobRecord, node: string): void {
    job.pendingFree = job.pendingFree.filter((n) => n !== node);
    if (job.pendingFree.length === 0 && job.status === JobStatus.Completing) this.finishJob(job);
    else this.persist(job);
  }

  private finishJob(job: JobRecord): void {
    const now = Date.now();
    this.move(job, job.endRequested ?? JobStatus.Completed, `job ${job.jobId}`);
    job.endTime = now;
    job.pendingReason = "";
    for (const s of job.steps) {
      if (!isTerminal(s.status)) {
        this.move(s, s.endRequested ?? JobStatus.Cancelled, `step ${job.jobId}.${s.stepId}`);
        s.endTime = now;
      }
    }
    this.jobs.delete(job.jobId);
    this.finishing.set(job.jobId, job);
    this.scheduleDirty = true;
    this.saveFinished(job);
    this.log.info(`job ${job.jobId} ended ${JobStatus[job.status]} (exit ${job.exitCode})${job.reason ? `: ${job.reason}` : ""}`);
  }

  /** Saves a finished job, retrying until it is on disk; only then does it leave memory. */
  private saveFinished(job: JobRecord): void {
    this.persist(job, () => {
      if (this.finishing.get(job.jobId) === job) this.finishing.delete(job.jobId);
    });
  }

  /**
   * Saves a job in the background, retrying every second until it is on disk (a failing disk must neither crash
   * ctld nor lose the change), then runs `onSaved`.
   */
  private persist(job: JobRecord, onSaved?: () => void): void {
    this.store.save(job).then(
      () => onSaved?.(),
      (e: Error) => {
        this.log.error(`saving job ${job.jobId} failed (will retry): ${e.message}`);
        setTimeout(() => this.persist(job, onSaved), 1000).unref();
      },
    );
  }

  /** A job by id: active, finished but not yet saved, or finished (from the store). */
  findJob(jobId: number): JobRecord | undefined {
    return this.jobs.get(jobId) ?? this.finishing.get(jobId) ?? this.store.loadFinished(1, [jobId])[0];
  }

  /** Finished jobs, newest first, including those whose final save is still in flight. */
  loadFinished(limit: number, jobIds?: number[]): JobRecord[] {
    const wanted = jobIds && jobIds.length > 0 ? new Set(jobIds) : undefined;
    const inFlight = [...this.finishing.values()].filter((j) => !wanted || wanted.has(j.jobId));
    if (inFlight.length === 0) return this.store.loadFinished(limit, jobIds);
    const ids = new Set(inFlight.map((j) => j.jobId));
    const rest = wanted ? [...wanted].filter((id) => !ids.has(id)) : undefined;
    const stored = rest?.length === 0 ? [] : this.store.loadFinished(limit, rest).filter((j) => !ids.has(j.jobId));
    return [...inFlight, ...stored].sort((a, b) => b.jobId - a.jobId).slice(0, limit);
  }

  // ------------------------------------------------------------------ user actions

  /**
   * Cancels a job (stepId undefined) or one step. A step gets SIGTERM, then SIGKILL after `graceSeconds`
   * (default 10). Returns an error text, or "" on success.
   */
  async cancel(jobId: number, stepId: number | undefined, caller: { uid: number }, graceSeconds?: number): Promise<string> {
    const job = this.jobs.get(jobId);
    if (!job) return "job does not exist or has already finished";
    if (!this.mayControl(caller.uid, job)) return "Permission denied: the job belongs to another user";
    if (stepId === undefined) {
      if (job.status === JobStatus.Completing) return "";
      job.endRequested = JobStatus.Cancelled;
      job.reason = "cancelled by user";
      this.beginJobEnd(job, JobStatus.Cancelled, 0, "cancelled by user");
      await this.store.save(job);
      return "";
    }
    const step = findStep(job, stepId);
    if (!step || stepId === DAEMON_STEP) return `step ${stepId} does not exist in job ${jobId}`;
    if (isTerminal(step.status)) return `step ${jobId}.${stepId} has already finished`;
    step.endRequested = JobStatus.Cancelled;
    if (stepId === PRIMARY_STEP) {
      job.endRequested = JobStatus.Cancelled;
      job.reason = "primary step cancelled by user";
    }
    if (step.status === JobStatus.Pending) {
      for (const n of step.nodes) step.perNode[n] = { status: JobStatus.Cancelled, exitCode: 0, reason: "cancelled before it started", containerId: "" };
      this.updateStepStatus(job, step, Date.now());
    } else {
      this.terminateStep(job, step, JobStatus.Cancelled, "cancelled by user", graceSeconds);
    }
    await this.store.save(job);
    return "";
  }

  private terminateStep(job: JobRecord, step: StepRecord, reasonStatus: JobStatus, reason: string, graceSeconds?: number): void {
    for (const node of step.nodes) {
      const entry = this.nodes.get(node);
      if (!entry?.client) continue;
      this.nodeClient
        .terminate(node, { jobId: job.jobId, stepId: step.stepId, reasonStatus, reason, graceSeconds })
        .catch((e: Error) => this.log.warn(`terminating ${job.jobId}.${step.stepId} on ${node} failed: ${e.message}`));
    }
  }

  mayControl(uid: number, job: JobRecord): boolean {
    return uid === job.spec.uid || this.isAdmin(uid);
  }

  // ------------------------------------------------------------------ nodes

  /** A craned (re)registers, telling which steps it still holds; returns steps it should drop. */
  async onNodeRegister(node: NodeEntry, running: { jobId: number; stepId: number }[]): Promise<{ jobId: number; stepId: number }[]> {
    const orphans: { jobId: number; stepId: number }[] = [];
    const endedHere = new Set<number>();
    const reported = new Set(running.map((s) => `${s.jobId}.${s.stepId}`));
    for (const s of running) {
      const job = this.jobs.get(s.jobId);
      const step = job && findStep(job, s.stepId);
      const jobEndedHere = !job || (job.status === JobStatus.Completing && !job.pendingFree.includes(node.name));
      if (jobEndedHere || !step || isTerminal(step.status)) orphans.push(s);
      if (jobEndedHere) endedHere.add(s.jobId);
    }
    // Jobs that ended while the node was away were never freed there: its cgroup and step state would stay forever.
    for (const jobId of endedHere) {
      this.nodeClient.free(node.name, jobId).catch((e: Error) => this.log.warn(`freeing ended job ${jobId} on ${node.name} failed: ${e.message}`));
    }
    const now = Date.now();
    for (const job of this.jobs.values()) {
      if (!job.nodes.includes(node.name) || job.status === JobStatus.Pending) continue;
      let changed = false;
      for (const step of job.steps) {
        const mine = step.perNode[node.name];
        if (!mine || isTerminal(mine.status) || reported.has(`${job.jobId}.${step.stepId}`)) continue;
        // ctld believes the step runs there but the node does not: it was lost with the node.
        step.perNode[node.name] = { ...mine, status: JobStatus.Failed, reason: `lost: node ${node.name} restarted without it` };
        this.updateStepStatus(job, step, now);
        changed = true;
      }
      if (job.status === JobStatus.Completing && job.pendingFree.includes(node.name)) this.freeOnNodes(job);
      if (changed) await this.store.save(job);
    }
    this.scheduleDirty = true;
    this.changes?.node(node.name);
    return orphans;
  }

  private onNodeDown(node: NodeEntry): void {
    this.log.warn(`node ${node.name} is down: ${node.reason}`);
    this.changes?.node(node.name);
    for (const job of [...this.jobs.values()]) {
      if (job.status === JobStatus.Pending || !job.nodes.includes(node.name)) continue;
      if (job.status === JobStatus.Completing) {
        this.onNodeFreed(job, node.name);
        continue;
      }
      if (this.config.jobRequeue && job.spec.type === JobType.Batch) {
        this.requeue(job, `node ${node.name} went down`);
      } else {
        job.reason = `node ${node.name} went down`;
        this.beginJobEnd(job, JobStatus.Failed, 0, job.reason);
        this.persist(job);
      }
    }
    this.scheduleDirty = true;
  }

  private requeue(job: JobRecord, why: string): void {
    for (const n of job.nodes) {
      const entry = this.nodes.get(n);
      if (entry?.up && entry.client) {
        this.nodeClient.free(n, job.jobId).catch(() => undefined);
      }
    }
    if (!this.move(job, JobStatus.Pending, `job ${job.jobId}`)) return;
    Object.assign(job, { nodes: [], steps: [], startTime: 0, pendingReason: "Requeued", requeueCount: job.requeueCount + 1 });
    this.log.info(`job ${job.jobId} requeued: ${why}`);
    this.persist(job);
  }

  // ------------------------------------------------------------------ periodic work

  /** Milliseconds a job or step has been running, immune to jumps of the wall clock after it started here. */
  private runningFor(rec: { startTime: number }, nowMono: number): number {
    let since = this.startedMono.get(rec);
    if (since === undefined) this.startedMono.set(rec, (since = monotonicOf(rec.startTime)));
    return nowMono - since;
  }

  private housekeeping(): void {
    const now = monotonicMs();
    // After a ctld restart, give every node a full timeout to come back before declaring it down.
    const timeoutMs = this.config.cranedTimeoutSeconds * 1000;
    if (now - this.startedAt > timeoutMs) {
      for (const n of this.nodes.nodes.values()) {
        if (!n.registered && !n.up && n.lastSeen === 0 && n.reason === "not registered yet") {
          n.reason = "never registered";
          this.onNodeDown(n);
        }
      }
    }
    for (const node of this.nodes.expire(timeoutMs, now)) this.onNodeDown(node);
    // (Deleting from a Map while iterating it is safe: finishJob may.)
    for (const job of this.jobs.values()) {
      if (job.status === JobStatus.Pending) continue;
      if (job.status === JobStatus.Completing) {
        job.pendingFree = job.pendingFree.filter((n) => this.mayStillFree(n, now));
        if (job.pendingFree.length === 0) this.finishJob(job);
        else this.freeOnNodes(job);
        continue;
      }
      if (job.spec.timeLimitSeconds && this.runningFor(job, now) > job.spec.timeLimitSeconds * 1000 && !job.endRequested) {
        job.endRequested = JobStatus.ExceedTimeLimit;
        job.reason = `time limit of ${job.spec.timeLimitSeconds} s reached`;
        this.beginJobEnd(job, JobStatus.ExceedTimeLimit, 0, job.reason);
        this.persist(job);
      }
      for (const step of job.steps) {
        if (
          step.stepId >= 2 &&
          step.timeLimitSeconds &&
          step.status === JobStatus.Running &&
          !step.endRequested &&
          this.runningFor(step, now) > step.timeLimitSeconds * 1000
        ) {
          step.endRequested = JobStatus.ExceedTimeLimit;
          this.terminateStep(job, step, JobStatus.ExceedTimeLimit, "step time limit reached");
        }
      }
    }
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
}
