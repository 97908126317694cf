// The working copy of the cluster for one cycle: free resources per node (typed arrays indexed by node number),
// what running and just-placed jobs give back and when, and the holds of reservations.
// Everything the cycle changes lives here; the input snapshot is only read.

import { CPU, GRES0, GresKeys, MEM } from "./gres";
import type { Snapshot } from "./types";

/** Resources a node gets back at `time` (a job ends). */
export interface Release {
  time: number;
  amount: Float64Array;
}

/** Resources promised to a blocked job on a node during [start, end). */
export interface Hold {
  jobId: number;
  start: number;
  end: number;
  amount: Float64Array;
}

export interface PartitionInfo {
  name: string;
  /** Every node listing the partition (up or not). */
  nodes: number[];
  /** Its up nodes. */
  upNodes: number[];
}

export class ClusterState {
  readonly now: number;
  readonly count: number;
  readonly names: string[];
  /** Partitions each node belongs to. */
  readonly partitionsOf: string[][];
  /** Position of each node in name order: the deterministic tie-break. */
  readonly rank: Int32Array;
  readonly byName = new Map<string, number>();
  readonly up: Uint8Array;
  readonly gresKeys = new GresKeys();
  /** Number of GRES keys (K): gres arrays hold K entries per node. */
  readonly k: number;

  /** Working free resources. */
  readonly cpu: Float64Array;
  readonly mem: Float64Array;
  readonly gres: Float64Array;
  /** What a node has when nothing runs on it (free + running allocations): what an exclusive job takes. */
  readonly capacity: Float64Array[];
  /** Running allocations plus jobs placed in this cycle. */
  readonly occupants: Int32Array;
  /** Busy with work the snapshot does not describe (exclusiveBusy without a listed allocation). */
  readonly opaque: Uint8Array;
  /** Per node, sorted by time; undefined when nothing is expected back. */
  readonly releases: (Release[] | undefined)[];
  /** Per node; undefined when no reservation touches the node. */
  readonly holds: (Hold[] | undefined)[];

  readonly partitions = new Map<string, PartitionInfo>();

  constructor(snapshot: Snapshot) {
    const { nodes } = snapshot;
    this.now = snapshot.now;
    this.count = nodes.length;
    this.names = nodes.map((n) => n.name);
    this.partitionsOf = nodes.map((n) => n.partitions);
    nodes.forEach((n, i) => this.byName.set(n.name, i));

    const order = this.names.map((_, i) => i).sort((a, b) => (this.names[a]! < this.names[b]! ? -1 : 1));
    this.rank = new Int32Array(this.count);
    order.forEach((node, r) => (this.rank[node] = r));

    for (const n of nodes) {
      for (const key in n.total.gres) this.gresKeys.add(key);
      for (const key in n.free.gres) this.gresKeys.add(key);
    }
    for (const a of snapshot.running) for (const key in a.perNode.gres) this.gresKeys.add(key);
    const K = (this.k = this.gresKeys.size);

    this.up = new Uint8Array(this.count);
    this.cpu = new Float64Array(this.count);
    this.mem = new Float64Array(this.count);
    this.gres = new Float64Array(this.count * K);
    this.capacity = new Array(this.count);
    this.occupants = new Int32Array(this.count);
    this.opaque = new Uint8Array(this.count);
    this.releases = new Array(this.count).fill(undefined);
    this.holds = new Array(this.count).fill(undefined);

    nodes.forEach((n, i) => {
      this.up[i] = n.up ? 1 : 0;
      const free = this.gresKeys.vector(n.free);
      this.cpu[i] = free[CPU]!;
      this.mem[i] = free[MEM]!;
      this.gres.set(free.subarray(GRES0), i * K);
      this.capacity[i] = free;
      for (const p of n.partitions) {
        let info = this.partitions.get(p);
        if (!info) this.partitions.set(p, (info = { name: p, nodes: [], upNodes: [] }));
        info.nodes.push(i);
        if (n.up) info.upNodes.push(i);
      }
    });

    // Running allocations: they give their resources back at their end time. An allocation already past its end is
    // still running, so it is expected back just after now (never "now": fitting now means fitting the free values).
    const exclusiveEnd = new Map<number, number>();
    for (const a of snapshot.running) {
      const amount = this.gresKeys.vector(a.perNode);
      const time = a.endTime > this.now ? a.endTime : this.now + 1;
      for (const name of new Set(a.nodes)) {
        const i = this.byName.get(name);
        if (i === undefined) continue;
        this.occupants[i]!++;
        const cap = this.capacity[i]!;
        for (let j = 0; j < cap.length; j++) cap[j]! += amount[j]!;
        if (a.exclusive) exclusiveEnd.set(i, Math.max(exclusiveEnd.get(i) ?? 0, time));
        else if (time !== Infinity) this.addRelease(i, time, amount);
      }
    }
    // A node with an exclusive job is closed to everyone until that job ends; then the whole node comes back.
    for (const [i, time] of exclusiveEnd) {
      this.releases[i] = undefined;
      this.cpu[i] = 0;
      this.mem[i] = 0;
      this.gres.fill(0, i * K, (i + 1) * K);
      if (time !== Infinity) this.addRelease(i, time, this.capacity[i]!.slice());
    }
    nodes.forEach((n, i) => {
      if (n.exclusiveBusy && this.occupants[i] === 0) {
        this.opaque[i] = 1;
        this.occupants[i] = 1;
      }
    });
  }

  addRelease(node: number, time: number, amount: Float64Array): void {
    const list = (this.releases[node] ??= []);
    let i = list.length;
    while (i > 0 && list[i - 1]!.time > time) i--;
    list.splice(i, 0, { time, amount });
  }

  addHold(node: number, hold: Hold): void {
    (this.holds[node] ??= []).push(hold);
  }

  /** Free resources of `node` now, as a vector (into `out`). */
  freeNow(node: number, out: Float64Array): Float64Array {
    out[CPU] = this.cpu[node]!;
    out[MEM] = this.mem[node]!;
    const K = this.k;
    for (let k = 0; k < K; k++) out[GRES0 + k] = this.gres[node * K + k]!;
    return out;
  }

  /**
   * What `node` can still promise at time `t` (>= now): free now, plus what ends by t, minus holds active at t.
   * Without holds this never decreases with t.
   */
  availableAt(node: number, t: number, out: Float64Array): Float64Array {
    this.freeNow(node, out);
    const rel = this.releases[node];
    if (rel)
      for (const r of rel) {
        if (r.time > t) break;
        for (let j = 0; j < out.length; j++) out[j]! += r.amount[j]!;
      }
    const holds = this.holds[node];
    if (holds)
      for (const h of holds) {
        if (h.start <= t && t < h.end) for (let j = 0; j < out.length; j++) out[j]! -= h.amount[j]!;
      }
    return out;
  }

  vector(): Float64Array {
    return new Float64Array(GRES0 + this.k);
  }
}
