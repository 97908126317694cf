// Place: choose the nodes for a job now, and charge them in the working state.

import { concreteCharge, CPU, EPS, GRES0, MEM } from "./gres";
import { fitsNow, FITS, HELD_BACK } from "./fit";
import type { Pools } from "./rank";
import type { Shape } from "./shape";
import type { ClusterState } from "./state";
import type { Resources } from "./types";

/**
 * The nodes (node list first, then best fit from the pool) for one job starting now and running `duration` ms, or
 * why not: "Resource" when the free resources are short even ignoring reservations, "Priority" when only
 * reservations of higher-priority jobs stand in the way.
 */
export function chooseNodes(state: ClusterState, shape: Shape, duration: number, scratch: Float64Array): number[] | "Resource" | "Priority" {
  const chosen: number[] = [];
  let requiredHeldBack = 0;
  for (const n of shape.required) {
    const fit = fitsNow(state, n, shape, duration, scratch);
    if (fit === FITS) chosen.push(n);
    else if (fit === HELD_BACK) requiredHeldBack++;
    else return "Resource";
  }

  const want = shape.nodeNum - shape.required.length;
  let found = 0;
  let heldBack = 0;
  const { pool, skip, demand } = shape;
  const { cpu, mem } = state;
  let i = pool.lowerBound(demand.cpu - EPS, -Infinity, -1);
  while (i < pool.size && found < want) {
    const n = pool.at(i);
    if (mem[n]! < demand.mem) {
      // Skip every node with this much free CPU and too little memory.
      i = pool.lowerBound(cpu[n]!, demand.mem, -1, i + 1);
      continue;
    }
    i++;
    if (skip !== undefined && skip.has(n)) continue;
    const fit = fitsNow(state, n, shape, duration, scratch);
    if (fit === FITS) {
      chosen.push(n);
      found++;
    } else if (fit === HELD_BACK) heldBack++;
  }
  if (found >= want && requiredHeldBack === 0) return chosen;
  return found + heldBack >= want ? "Priority" : "Resource";
}

/**
 * Charge the job on its nodes: subtract from the working free resources (an exclusive job takes everything left),
 * remember when they come back, and return what each node gives the job (GRES as the node's own keys).
 */
export function charge(state: ClusterState, pools: Pools, shape: Shape, nodes: number[], duration: number): Resources[] {
  const K = state.k;
  const end = state.now + duration;
  return nodes.map((n) => {
    const given = concreteCharge(shape.demand, state.gres, n * K, K);
    const taken = shape.exclusive ? state.freeNow(n, state.vector()) : given;
    pools.update(n, () => {
      state.cpu[n]! -= taken[CPU]!;
      state.mem[n]! -= taken[MEM]!;
      for (let k = 0; k < K; k++) state.gres[n * K + k]! -= taken[GRES0 + k]!;
    });
    state.occupants[n]!++;
    if (end !== Infinity) state.addRelease(n, end, taken);
    return state.gresKeys.toResources(given);
  });
}
