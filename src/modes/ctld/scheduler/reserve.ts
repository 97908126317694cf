// Reserve: for a job that cannot start now, find its earliest start (the "shadow time") and hold the resources it
// will need on the nodes it will use. Later, lower-priority jobs may start only if they leave those resources alone
// until the shadow time (see fit.ts): they end before it, or they use what the reservation does not need.
//
// How: every candidate node gets the earliest time it could host the job (nodes without holds only gain resources
// over time, so one pass over their expected releases answers that). Sweep those times in order, and stop at the
// first time enough nodes are ready; nodes that already carry holds are checked exactly at each time, as they may
// stop being usable when a hold starts.

import { concreteCharge, CPU, GRES0, MEM } from "./gres";
import { earliestFit, fitsFrom } from "./fit";
import type { Shape } from "./shape";
import type { ClusterState } from "./state";

export interface Reserved {
  start: number;
  end: number;
  nodes: number[];
}

export function reserve(state: ClusterState, shape: Shape, jobId: number, duration: number, scratch: Float64Array): Reserved | undefined {
  const now = state.now;
  const need = shape.nodeNum - shape.required.length;
  const { pool, skip } = shape;

  // Earliest fit of every candidate node without holds; the others are checked at each time.
  const readyNodes: number[] = [];
  const readyAt: number[] = [];
  const withHolds: number[] = [];
  const times: number[] = [];
  const eventsOf = (n: number) => {
    for (const r of state.releases[n] ?? []) if (r.time > now) times.push(r.time);
    for (const h of state.holds[n] ?? []) if (h.end > now && h.end !== Infinity) times.push(h.end);
  };
  for (let i = 0; i < pool.size; i++) {
    const n = pool.at(i);
    if (skip !== undefined && skip.has(n)) continue;
    if (state.holds[n] !== undefined) {
      withHolds.push(n);
      eventsOf(n);
      continue;
    }
    const t = earliestFit(state, n, shape, scratch);
    if (t === Infinity) continue;
    readyNodes.push(n);
    readyAt.push(t);
    if (t > now) times.push(t);
  }
  for (const n of shape.required) eventsOf(n);
  if (readyNodes.length + withHolds.length < need) return undefined;

  const order = readyNodes.map((_, i) => i).sort((a, b) => readyAt[a]! - readyAt[b]!);
  times.sort((a, b) => a - b);

  let ready = 0;
  let last = NaN;
  for (const t of times) {
    if (t === last) continue;
    last = t;
    while (ready < order.length && readyAt[order[ready]!]! <= t) ready++;
    if (ready + withHolds.length < need) continue;
    if (!shape.required.every((n) => fitsFrom(state, n, shape, t, duration, scratch))) continue;
    const okWithHolds = withHolds.filter((n) => fitsFrom(state, n, shape, t, duration, scratch));
    if (ready + okWithHolds.length < need) continue;

    const candidates = order
      .slice(0, ready)
      .map((i) => readyNodes[i]!)
      .concat(okWithHolds);
    const nodes = shape.required.concat(bestFitAt(state, candidates, need, t, scratch));
    hold(state, shape, jobId, nodes, t, duration);
    return { start: t, end: t + duration, nodes };
  }
  return undefined;
}

/** The `need` candidates that will have the least CPU, then memory, left at time t (ties by name). */
function bestFitAt(state: ClusterState, candidates: number[], need: number, t: number, scratch: Float64Array): number[] {
  const keyed = candidates.map((n) => {
    const v = state.availableAt(n, t, scratch);
    return { n, cpu: v[CPU]!, mem: v[MEM]!, rank: state.rank[n]! };
  });
  keyed.sort((a, b) => a.cpu - b.cpu || a.mem - b.mem || a.rank - b.rank);
  return keyed.slice(0, need).map((k) => k.n);
}

function hold(state: ClusterState, shape: Shape, jobId: number, nodes: number[], start: number, duration: number): void {
  for (const n of nodes) {
    const avail = state.availableAt(n, start, state.vector());
    const amount = shape.exclusive ? state.capacity[n]!.slice() : concreteCharge(shape.demand, avail, GRES0, state.k);
    state.addHold(n, { jobId, start, end: start + duration, amount });
  }
}
