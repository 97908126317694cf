// ctld's lifecycle without sockets, disks or sleeps: real job records, a real node registry, a fake clock, and the
// effects each event returns, recorded. Saves succeed at once unless told otherwise; launches of a saved job's first
// steps follow its save, as in ctld.
import { parseConfig } from "../../src/core/config";
import { JobSpec, JobStatus, JobType, StepSpec, type StepStatusChangeRequest } from "../../src/core/generated/crane/crane";
import type { Logger } from "../../src/core/log";
import { ActiveJobs } from "../../src/modes/ctld/active-jobs";
import { admitJob } from "../../src/modes/ctld/admission";
import { Lifecycle, type Effect, type Now } from "../../src/modes/ctld/lifecycle";
import { NodeRegistry } from "../../src/modes/ctld/nodes";
import { findStep, type JobRecord, type StepRecord } from "../../src/modes/ctld/records";
import { admitStep } from "../../src/modes/ctld/step-admission";

export class FakeClock {
  wall = Date.UTC(2026, 0, 1);
  mono = 1_000_000;

  now(): Now {
    return { wall: this.wall, mono: this.mono };
  }

  /** Both clocks move on. */
  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }

  /** The wall clock is set, e.g. by an administrator; the monotonic clock does not move. */
  jumpWall(ms: number): void {
    this.wall += ms;
  }
}

export interface HarnessOptions {
  nodes?: number;
  cranedTimeoutSeconds?: number;
  jobRequeue?: boolean;
  adminUids?: number[];
}

export class LifecycleHarness {
  readonly clock = new FakeClock();
  readonly jobs = new ActiveJobs();
  readonly nodes: NodeRegistry;
  readonly lifecycle: Lifecycle;
  readonly config;
  /** Every effect returned so far, in order. */
  readonly effects: Effect[] = [];
  readonly errors: string[] = [];
  private nextJobId = 1;

  constructor(opts: HarnessOptions = {}) {
    const names = Array.from({ length: opts.nodes ?? 2 }, (_, i) => `n${i + 1}`);
    this.config = parseConfig(
      {
        CraneCtld: { CranedTimeout: opts.cranedTimeoutSeconds ?? 30, JobRequeue: opts.jobRequeue ?? false },
        AdminUids: (opts.adminUids ?? []).map(String),
        Nodes: names.map((name) => ({ name, cpu: 4, memory: "4G" })),
        Partitions: [{ name: "CPU", nodes: "ALL" }],
      },
      "",
    );
    this.nodes = new NodeRegistry(this.config);
    const log: Logger = { debug() {}, info() {}, warn() {}, error: (m: string) => void this.errors.push(m) };
    this.lifecycle = new Lifecycle(this.jobs, this.nodes, this.config, log, this.clock.mono);
    // Finished jobs leave the active set: their statuses stay known, as the store keeps them for ctld.
    this.lifecycle.finishedStatus = (id) => this.of("finished").find((e) => e.job.jobId === id)?.job.status;
  }

  /** The node's craned has registered and pings (no client: the lifecycle never calls one). */
  nodeUp(name: string): void {
    Object.assign(this.nodes.get(name)!, { up: true, registered: true, reason: "", lastSeen: this.clock.wall, lastSeenMono: this.clock.mono });
  }

  allNodesUp(): void {
    for (const name of this.nodes.nodes.keys()) this.nodeUp(name);
  }

  /** Records an event's effects and follows the saves of started jobs with their launches, as ctld does. */
  record(effects: Effect[]): Effect[] {
    this.effects.push(...effects);
    for (const e of effects) if (e.kind === "save" && e.thenLaunch) this.record(this.lifecycle.launchStarted(e.job, this.clock.now()));
    return effects;
  }

  /** Admits and queues a job as ctld's submission does. */
  submit(spec: Partial<JobSpec> = {}, uid = 1000): JobRecord {
    const full = JobSpec.fromPartial({ type: JobType.Batch, name: "j", cpusPerTask: 1, shScript: "true", cwd: "/", uid, gid: uid, ...spec });
    const job = admitJob(full, { uid, gid: uid }, this.admission());
    job.jobId = this.nextJobId++;
    this.jobs.set(job.jobId, job);
    return job;
  }

  schedule(): Effect[] {
    return this.record(this.lifecycle.schedulePass(this.clock.now()).effects);
  }

  /** A job started and running on its nodes: submitted, placed, and every initial step reported Running. */
  running(spec: Partial<JobSpec> = {}, uid = 1000): JobRecord {
    const job = this.submit(spec, uid);
    this.schedule();
    for (const step of [...job.steps]) for (const node of step.nodes) this.report(job, step.stepId, node, JobStatus.Running);
    return job;
  }

  addStep(job: JobRecord, spec: Partial<StepSpec> = {}): StepRecord {
    const step = admitStep(
      job,
      StepSpec.fromPartial({ jobId: job.jobId, type: JobType.Batch, argv: ["true"], ...spec }),
      { uid: job.spec.uid },
      this.admission(),
    );
    job.nextStepId = step.stepId + 1;
    job.steps.push(step);
    this.record(this.lifecycle.stepAdded(job, step, this.clock.now()));
    return step;
  }

  report(job: JobRecord, stepId: number, node: string, status: JobStatus, exitCode = 0, reason = "", usage = { maxRssBytes: 0, cpuTimeUsec: 0 }): Effect[] {
    const r: StepStatusChangeRequest = { node, jobId: job.jobId, stepId, status, exitCode, reason, timestamp: this.clock.wall, containerId: "", ...usage };
    return this.record(this.lifecycle.stepReport(r, this.clock.now()));
  }

  /** Every node the job was told to free says it has. */
  freeAll(job: JobRecord): void {
    for (const node of [...job.pendingFree]) this.record(this.lifecycle.nodeFreed(job, node, this.clock.now()));
  }

  tick(ms = 1000): Effect[] {
    this.clock.advance(ms);
    return this.record(this.lifecycle.tick(this.clock.now()));
  }

  cancel(job: JobRecord, uid: number, stepId?: number): string {
    const { error, effects } = this.lifecycle.cancel(job, stepId, { uid }, undefined, this.clock.now());
    this.record(effects);
    return error;
  }

  step(job: JobRecord, stepId: number): StepRecord {
    const s = findStep(job, stepId);
    if (!s) throw new Error(`job ${job.jobId} has no step ${stepId}`);
    return s;
  }

  /** The recorded effects of one kind. */
  of<K extends Effect["kind"]>(kind: K): Extract<Effect, { kind: K }>[] {
    return this.effects.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
  }

  private admission() {
    return { config: this.config, node: (name: string) => this.nodes.get(name), isAdmin: (uid: number) => uid === 0, now: this.clock.wall };
  }
}
