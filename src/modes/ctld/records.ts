// What ctld knows about a job and its steps. Plain JSON-serialisable objects: the store saves them as-is.
import { JobStatus, type ContainerMeta, type IoMeta, type JobSpec, type JobType } from "../../core/generated/crane/crane";
import type { Resources } from "./scheduler";

export interface NodeStepState {
  status: JobStatus;
  exitCode: number;
  reason: string;
  containerId: string;
  /** Peak memory and CPU time of the step on the node, from its final report (absent: not measured). */
  maxRssBytes?: number;
  cpuTimeUsec?: number;
}

export interface StepRecord {
  stepId: number;
  name: string;
  type: JobType;
  uid: number;
  status: JobStatus;
  nodes: string[];
  resPerNode: Resources;
  submitTime: number;
  startTime: number;
  endTime: number;
  timeLimitSeconds: number;
  exitCode: number;
  reason: string;
  cmdLine: string;
  cwd: string;
  env: Record<string, string>;
  argv: string[];
  /** crun --pty: task 0 runs in a pseudo-terminal that the owner attaches to (OpenStepStream). */
  pty?: boolean;
  ntasksPerNode: number;
  containerMeta?: ContainerMeta;
  io?: IoMeta;
  /** The batch script of a batch primary step. */
  isBatchPrimary: boolean;
  /**
   * What the step asked for by name (CPUs, memory, GRES; not with --overlap): it gets that apart from its siblings'
   * shares and waits (Pending, StepResources) until it is free. What it does not name it shares with them.
   */
  ownShare?: Resources;
  /** Per-node progress of the step, keyed by node name. */
  perNode: Record<string, NodeStepState>;
  /** Why ctld asked the step to end (Cancelled, ExceedTimeLimit), applied to its final status. */
  endRequested?: JobStatus;
  /**
   * node -> GRES key -> device files, for a step that asked for fewer devices than its job holds: which of the job's
   * devices it got (running sibling steps get different ones while there are enough).
   */
  devicesByNode?: Record<string, Record<string, string[]>>;
}

/** What no step has before it starts. */
type StepProgress = "status" | "startTime" | "endTime" | "exitCode" | "reason" | "perNode";

/** A step not yet started: Pending, no times, no exit code, no node progress. */
export function newStep(fields: Omit<StepRecord, StepProgress>): StepRecord {
  return { ...fields, status: JobStatus.Pending, startTime: 0, endTime: 0, exitCode: 0, reason: "", perNode: {} };
}

export interface JobRecord {
  jobId: number;
  spec: JobSpec;
  username: string;
  status: JobStatus;
  pendingReason: string;
  reason: string;
  exitCode: number;
  priority: number;
  submitTime: number;
  startTime: number;
  endTime: number;
  nodes: string[];
  allocPerNode: Resources;
  /** What each node gives, with the node's own GRES keys (an untyped gpu request lands on typed GPUs). */
  allocByNode?: Record<string, Resources>;
  /** The GRES device files the job holds on each node (node -> GRES key -> files), picked at start from the free ones. */
  devicesByNode?: Record<string, Record<string, string[]>>;
  reqPerNode: Resources;
  steps: StepRecord[];
  nextStepId: number;
  requeueCount: number;
  /** Why the job is ending, once it is (Cancelled, ExceedTimeLimit, Failed): wins over the primary step's outcome. */
  endRequested?: JobStatus;
  /** Nodes that still have to confirm that the job's resources are freed. */
  pendingFree: string[];
}

export { DAEMON_STEP_ID as DAEMON_STEP, PRIMARY_STEP_ID as PRIMARY_STEP } from "../../core/node/layout";

export function findStep(job: JobRecord, stepId: number): StepRecord | undefined {
  return job.steps.find((s) => s.stepId === stepId);
}
