// Types of the scheduler's input (a snapshot of the cluster) and output (placements and pending reasons).
// The scheduler is a pure function of these values: ctld builds a Snapshot, calls schedule(), and applies the result.

/**
 * An amount of resources. `cpu` may be fractional (0.5 = half a core).
 *
 * GRES keys are `name` or `name:type` (`gpu`, `gpu:a100`), values are counts.
 * - On a node, keys are what the node really has: typed keys (`gpu:a100`) or a bare name (`gpu`) for untyped devices.
 * - In a request, a typed key (`gpu:a100`) needs devices of exactly that type, while a bare key (`gpu`) is satisfied by
 *   any devices of that name, typed or not (like Slurm: `--gres=gpu:2` may land on A100s). The scheduler then charges
 *   concrete node keys, reported in `Placement.allocated`.
 */
export interface Resources {
  cpu: number;
  memoryBytes: number;
  gres: Record<string, number>;
}

export interface NodeSnapshot {
  name: string;
  partitions: string[];
  total: Resources;
  /** What is free now: total minus the running allocations on this node. */
  free: Resources;
  up: boolean;
  /** Some job runs here. Allocations listed in `Snapshot.running` also count; set this alone only for work the
   *  snapshot cannot describe (the node then never takes an exclusive job in this cycle). */
  exclusiveBusy?: boolean;
}

export interface RunningAllocation {
  jobId: number;
  nodes: string[];
  /** What the job holds on each node, with concrete node GRES keys (as in `Placement.allocated`). */
  perNode: Resources;
  /** Expected end (ms since epoch): start + time limit. Infinity when the job has no time limit. */
  endTime: number;
  /** The job owns its nodes whole: nobody else may use them until it ends. */
  exclusive: boolean;
}

export interface PendingJob {
  jobId: number;
  partition: string;
  priority: number;
  submitTime: number;
  /** Number of distinct nodes the job needs. */
  nodeNum: number;
  /** What each node must give. `cpu` must be > 0. */
  perNode: Resources;
  /** Infinity = unlimited (such a job can never be backfilled ahead of a reservation). */
  timeLimitMs: number;
  /** Nodes that must all be part of the allocation (nodeNum >= their count). */
  nodelist?: string[];
  /** Nodes that must not be used. */
  excludes?: string[];
  /** Take whole nodes: only nodes with nothing running, and nobody else joins them. */
  exclusive?: boolean;
  held?: boolean;
}

export interface Snapshot {
  /** The time of this cycle (ms). The scheduler reads no clock. */
  now: number;
  nodes: NodeSnapshot[];
  running: RunningAllocation[];
  pending: PendingJob[];
}

/**
 * Why a job is still pending after a cycle.
 * - Held: the job is held by a user or an admin.
 * - PartitionDown: the partition has no node that is up (or no node at all).
 * - NodeNotAvailable: fewer usable (up, not excluded) nodes than the job asks for.
 * - ReqNodeNotAvail: a node named in `nodelist` is unknown, down, outside the partition or excluded, or nodelist is
 *   longer than nodeNum.
 * - Resource: not enough free resources now.
 * - Priority: the job fits now, but starting it would delay a higher-priority job's reservation.
 */
export type PendingReason = "Priority" | "Resource" | "Held" | "NodeNotAvailable" | "ReqNodeNotAvail" | "PartitionDown";

export interface Placement {
  jobId: number;
  /** Chosen nodes, in allocation order (nodelist nodes first). */
  nodes: string[];
  /** What the job asked for on each node (a copy of PendingJob.perNode). */
  perNode: Resources;
  /** What is charged on each node, index-aligned with `nodes`: perNode with GRES mapped to the node's own keys. */
  allocated: Resources[];
  /** The nodes are owned whole by this job (ctld must report them as exclusive running allocations). */
  exclusive: boolean;
  /** Started ahead of a higher-priority job of the same partition that is still waiting. */
  backfilled: boolean;
  /** now + time limit (Infinity when unlimited). */
  endTime: number;
}

/** A future start the scheduler promised to a blocked job in this cycle (useful for an "expected start" column). */
export interface Reservation {
  jobId: number;
  nodes: string[];
  startTime: number;
  endTime: number;
}

export interface ScheduleResult {
  placements: Placement[];
  /** Every pending job that was not placed, with its reason. */
  pending: Map<number, PendingReason>;
  /** Reservations made for blocked jobs (at most maxBackfillJobs of them are attempted). */
  reservations: Reservation[];
}

export interface ScheduleOptions {
  /** How many blocked jobs get a reservation (a shadow time) per cycle. Default 20. 0 disables backfill protection. */
  maxBackfillJobs?: number;
}
