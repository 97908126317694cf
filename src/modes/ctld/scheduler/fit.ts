// Fit: can one node take one job, now or at a future time?
//
// "Now" is the fast path of the cycle: compare the job's per-node demand with the node's working free resources. Only
// nodes touched by a reservation (a Hold) need more: a job that would still run when a hold starts must leave the
// held resources alone at that moment. That is the backfill rule: start now if you end before the shadow time, or
// if you do not use what the blocked job needs.

import { covers, EPS, gresFits, vectorFits } from "./gres";
import type { Shape } from "./shape";
import type { ClusterState } from "./state";

export const FITS = 0;
/** Not enough free resources (or, for an exclusive job, something runs there). */
export const NO_ROOM = 1;
/** Enough free resources, but a reservation of a higher-priority job needs them while this job would run. */
export const HELD_BACK = 2;
export type FitResult = typeof FITS | typeof NO_ROOM | typeof HELD_BACK;

/** Can `node` take one share of the job now, for `duration` ms? `scratch` is a vector to work in. */
export function fitsNow(state: ClusterState, node: number, shape: Shape, duration: number, scratch: Float64Array): FitResult {
  const d = shape.demand;
  if (shape.exclusive && state.occupants[node]! > 0) return NO_ROOM;
  if (state.cpu[node]! < d.cpu - EPS || state.mem[node]! < d.mem) return NO_ROOM;
  if (!gresFits(d, state.gres, node * state.k)) return NO_ROOM;
  const holds = state.holds[node];
  if (holds === undefined) return FITS;
  const now = state.now;
  const end = now + duration;
  for (const h of holds) {
    if (h.start >= end || h.end <= now) continue;
    if (shape.exclusive) return HELD_BACK;
    if (!vectorFits(d, state.availableAt(node, Math.max(h.start, now), scratch))) return HELD_BACK;
  }
  return FITS;
}

/** Could `node` host one share of the job over [t, t + duration), given what ends before and what is held? */
export function fitsFrom(state: ClusterState, node: number, shape: Shape, t: number, duration: number, scratch: Float64Array): boolean {
  if (!fitsVector(state, node, shape, state.availableAt(node, t, scratch))) return false;
  const holds = state.holds[node];
  if (holds === undefined) return true;
  const end = t + duration;
  for (const h of holds) {
    if (h.start > t && h.start < end && !fitsVector(state, node, shape, state.availableAt(node, h.start, scratch))) return false;
  }
  return true;
}

/**
 * The earliest time >= now at which `node` (which has no holds) can host one share of the job. Without holds the
 * node's availability only grows with time, so the answer holds for the rest of time. Infinity if never.
 */
export function earliestFit(state: ClusterState, node: number, shape: Shape, scratch: Float64Array): number {
  const v = state.freeNow(node, scratch);
  if (fitsVector(state, node, shape, v)) return state.now;
  const rel = state.releases[node];
  if (rel === undefined) return Infinity;
  for (let i = 0; i < rel.length; i++) {
    const r = rel[i]!;
    for (let j = 0; j < v.length; j++) v[j]! += r.amount[j]!;
    if (i + 1 < rel.length && rel[i + 1]!.time === r.time) continue;
    if (fitsVector(state, node, shape, v)) return r.time;
  }
  return Infinity;
}

/** Does the availability vector `v` of `node` cover one share of the job? Exclusive jobs need the whole node. */
function fitsVector(state: ClusterState, node: number, shape: Shape, v: Float64Array): boolean {
  if (shape.exclusive) return state.opaque[node] === 0 && covers(v, state.capacity[node]!) && vectorFits(shape.demand, v);
  return vectorFits(shape.demand, v);
}
