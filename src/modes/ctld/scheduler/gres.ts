// GRES keys and resource vectors.
//
// Inside a cycle every amount of resources is a Float64Array "vector": [cpu, memoryBytes, gres key 0, gres key 1, ...],
// where the GRES keys are the concrete keys found on nodes and running allocations (`gpu`, `gpu:a100`, ...).
// A request is compiled once into a `Demand`: typed GRES keys must match exactly, bare names (`gpu`) match the sum of
// every key of that name.

import type { Resources } from "./types";

/** Tolerance for fractional CPU comparisons (0.1 + 0.2 must fit into 0.3). */
export const EPS = 1e-9;

export const CPU = 0;
export const MEM = 1;
export const GRES0 = 2;

export function gresName(key: string): string {
  const colon = key.indexOf(":");
  return colon < 0 ? key : key.slice(0, colon);
}

/** The concrete GRES keys known in this cycle, grouped by name. */
export class GresKeys {
  readonly keys: string[] = [];
  private readonly byKey = new Map<string, number>();
  /** name -> key indices of that name: the bare key first, then typed keys by name. */
  private readonly byName = new Map<string, number[]>();

  add(key: string): void {
    if (this.byKey.has(key)) return;
    const k = this.keys.length;
    this.keys.push(key);
    this.byKey.set(key, k);
    const name = gresName(key);
    const group = this.byName.get(name) ?? [];
    group.push(k);
    group.sort((a, b) => {
      const ka = this.keys[a]!,
        kb = this.keys[b]!;
      if (ka === name) return -1;
      if (kb === name) return 1;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    this.byName.set(name, group);
  }

  get size(): number {
    return this.keys.length;
  }

  indexOf(key: string): number | undefined {
    return this.byKey.get(key);
  }

  group(name: string): number[] | undefined {
    return this.byName.get(name);
  }

  /** A vector of the given resources (unknown keys are dropped: callers register keys first). */
  vector(res: Resources): Float64Array {
    const v = new Float64Array(GRES0 + this.keys.length);
    v[CPU] = res.cpu;
    v[MEM] = res.memoryBytes;
    for (const key in res.gres) {
      const k = this.byKey.get(key);
      if (k !== undefined) v[GRES0 + k]! += res.gres[key]!;
    }
    return v;
  }

  toResources(v: Float64Array): Resources {
    const gres: Record<string, number> = {};
    for (let k = 0; k < this.keys.length; k++) {
      const n = v[GRES0 + k]!;
      if (n > 0) gres[this.keys[k]!] = n;
    }
    return { cpu: v[CPU]!, memoryBytes: v[MEM]!, gres };
  }
}

/** A per-node request compiled against the cycle's GRES keys. */
export interface Demand {
  cpu: number;
  mem: number;
  /** Typed (or exactly matching) keys: gres[typedKeys[i]] >= typedCounts[i]. */
  typedKeys: number[];
  typedCounts: number[];
  /** Bare names: sum over groupKeys[i] minus the typed demand inside that group >= groupCounts[i]. */
  groupKeys: number[][];
  groupCounts: number[];
  groupTyped: number[];
  /** A key or name that no node has: the demand can never be met. */
  impossible: boolean;
  /** The first GRES name asked for, used to pick a smaller candidate pool (only nodes with that GRES). */
  poolGres: string | undefined;
}

export function compileDemand(res: Resources, keys: GresKeys): Demand {
  const d: Demand = {
    cpu: res.cpu,
    mem: res.memoryBytes,
    typedKeys: [],
    typedCounts: [],
    groupKeys: [],
    groupCounts: [],
    groupTyped: [],
    impossible: false,
    poolGres: undefined,
  };
  const bare: [string, number][] = [];
  for (const key of Object.keys(res.gres).sort()) {
    const count = res.gres[key]!;
    if (!(count > 0)) continue;
    d.poolGres ??= gresName(key);
    if (key.includes(":")) {
      const k = keys.indexOf(key);
      if (k === undefined) d.impossible = true;
      else {
        d.typedKeys.push(k);
        d.typedCounts.push(count);
      }
    } else bare.push([key, count]);
  }
  for (const [name, count] of bare) {
    const group = keys.group(name);
    if (group === undefined) {
      d.impossible = true;
      continue;
    }
    let typed = 0;
    for (let i = 0; i < d.typedKeys.length; i++) if (group.includes(d.typedKeys[i]!)) typed += d.typedCounts[i]!;
    d.groupKeys.push(group);
    d.groupCounts.push(count);
    d.groupTyped.push(typed);
  }
  return d;
}

/** Does the vector `v` (at offset `off` for GRES) cover the demand? cpu/mem are passed separately so that callers can
 *  test a node's working free without building a vector. */
export function gresFits(d: Demand, g: Float64Array, off: number): boolean {
  for (let i = 0; i < d.typedKeys.length; i++) if (g[off + d.typedKeys[i]!]! < d.typedCounts[i]! - EPS) return false;
  for (let i = 0; i < d.groupKeys.length; i++) {
    const group = d.groupKeys[i]!;
    let sum = -d.groupTyped[i]!;
    for (let j = 0; j < group.length; j++) sum += g[off + group[j]!]!;
    if (sum < d.groupCounts[i]! - EPS) return false;
  }
  return true;
}

export function vectorFits(d: Demand, v: Float64Array): boolean {
  return v[CPU]! >= d.cpu - EPS && v[MEM]! >= d.mem && gresFits(d, v, GRES0);
}

/** Does `v` cover all of `need` (used for exclusive jobs, whose need is a node's whole capacity)? */
export function covers(v: Float64Array, need: Float64Array): boolean {
  if (v[CPU]! < need[CPU]! - EPS) return false;
  for (let i = 1; i < need.length; i++) if (v[i]! < need[i]! - EPS) return false;
  return true;
}

/**
 * The concrete charge for a demand taken from `free` (GRES at offset `off`): typed keys as asked, bare names spread
 * over that name's keys, bare key first, then typed keys by name.
 */
export function concreteCharge(d: Demand, free: Float64Array, off: number, size: number): Float64Array {
  const v = new Float64Array(GRES0 + size);
  v[CPU] = d.cpu;
  v[MEM] = d.mem;
  for (let i = 0; i < d.typedKeys.length; i++) v[GRES0 + d.typedKeys[i]!]! += d.typedCounts[i]!;
  for (let i = 0; i < d.groupKeys.length; i++) {
    let left = d.groupCounts[i]!;
    for (const k of d.groupKeys[i]!) {
      if (left <= 0) break;
      const avail = free[off + k]! - v[GRES0 + k]!;
      const take = Math.min(left, Math.max(0, avail));
      v[GRES0 + k]! += take;
      left -= take;
    }
  }
  return v;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  if (i === 0 && n >= 1024) {
    // Not a round number of KiB: show it with a decimal in the largest fitting unit.
    let x = n;
    while (x >= 1024 && i < units.length - 1) {
      x /= 1024;
      i++;
    }
    return `${Number(x.toFixed(1))} ${units[i]}`;
  }
  return `${n} ${units[i]}`;
}

export function formatCpus(n: number): string {
  return `${Number(n.toFixed(3))} CPU${n === 1 ? "" : "s"}`;
}
