// The scheduler: a pure function from a Snapshot to placements and pending reasons.
//
//   pending jobs ──priority order──► for each job:
//     held? ──► Held
//     filterNodes (feasible.ts)   partition up? node list / excludes usable?   ──► PartitionDown / NodeNotAvailable / ReqNodeNotAvail
//     memo (shape.ts)             same shape already failed this cycle?        ──► Resource / Priority
//     chooseNodes (place.ts)      best fit from a sorted pool (rank.ts), honouring holds (fit.ts)
//        ├─ fits ──► charge (place.ts) ──► Placement
//        └─ not  ──► Resource / Priority, then reserve (reserve.ts): shadow time + holds, for the first maxBackfillJobs
//
// No I/O, no clock (only snapshot.now), no randomness: the same snapshot always gives the same result.

import { charge, chooseNodes } from "./place";
import { filterNodes } from "./feasible";
import { Pools } from "./rank";
import { reserve } from "./reserve";
import { ShapeCache } from "./shape";
import { ClusterState } from "./state";
import type { PendingJob, PendingReason, Placement, Reservation, ScheduleOptions, ScheduleResult, Snapshot } from "./types";

export const DEFAULT_MAX_BACKFILL_JOBS = 20;

export function schedule(snapshot: Snapshot, opts: ScheduleOptions = {}): ScheduleResult {
  const maxReservations = opts.maxBackfillJobs ?? DEFAULT_MAX_BACKFILL_JOBS;
  const state = new ClusterState(snapshot);
  const pools = new Pools(state);
  const shapes = new ShapeCache();
  const scratch = state.vector();

  const placements: Placement[] = [];
  const pending = new Map<number, PendingReason>();
  const reservations: Reservation[] = [];
  /** Partitions where a job is waiting for resources: anything placed after it there was backfilled. */
  const waiting = new Set<string>();
  let reservationsTried = 0;

  for (const job of priorityOrder(snapshot.pending)) {
    if (job.held) {
      pending.set(job.jobId, "Held");
      continue;
    }
    let shape = shapes.find(job);
    if (shape === undefined) shapes.add(job, (shape = filterNodes(state, pools, job)));
    if (shape.unavailable !== undefined) {
      pending.set(job.jobId, shape.unavailable);
      continue;
    }

    const duration = job.timeLimitMs;
    const choice = shape.noRoom
      ? "Resource"
      : shape.heldBackFrom !== undefined && duration >= shape.heldBackFrom
        ? "Priority"
        : chooseNodes(state, shape, duration, scratch);
    if (typeof choice !== "string") {
      const allocated = charge(state, pools, shape, choice, duration);
      placements.push({
        jobId: job.jobId,
        nodes: choice.map((n) => state.names[n]!),
        perNode: copyResources(job.perNode),
        allocated,
        exclusive: shape.exclusive,
        backfilled: waiting.has(job.partition),
        endTime: state.now + duration,
      });
      continue;
    }

    if (choice === "Resource") shape.noRoom = true;
    else shape.heldBackFrom = Math.min(shape.heldBackFrom ?? Infinity, duration);
    pending.set(job.jobId, choice);
    waiting.add(job.partition);
    if (reservationsTried < maxReservations && !shape.demand.impossible) {
      reservationsTried++;
      const r = reserve(state, shape, job.jobId, duration, scratch);
      if (r) reservations.push({ jobId: job.jobId, nodes: r.nodes.map((n) => state.names[n]!), startTime: r.start, endTime: r.end });
    }
  }
  return { placements, pending, reservations };
}

/** Priority descending, then submit time ascending, then job id ascending. */
export function priorityOrder(jobs: readonly PendingJob[]): PendingJob[] {
  const n = jobs.length;
  const priority = new Float64Array(n);
  const submit = new Float64Array(n);
  const id = new Float64Array(n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const j = jobs[i]!;
    priority[i] = j.priority;
    submit[i] = j.submitTime;
    id[i] = j.jobId;
    order[i] = i;
  }
  order.sort((a, b) => priority[b]! - priority[a]! || submit[a]! - submit[b]! || id[a]! - id[b]!);
  const out = new Array<PendingJob>(n);
  for (let i = 0; i < n; i++) out[i] = jobs[order[i]!]!;
  return out;
}

function copyResources(r: { cpu: number; memoryBytes: number; gres: Record<string, number> }) {
  return { cpu: r.cpu, memoryBytes: r.memoryBytes, gres: { ...r.gres } };
}
