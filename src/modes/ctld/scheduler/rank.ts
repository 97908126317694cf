// Rank: candidate nodes kept in best-fit order.
//
// A NodePool holds some up nodes (those of a partition, or those of a partition that have a given GRES) sorted by
// (free CPU, free memory, name). Best fit is then "the first nodes at or after the job's CPU request that also fit":
// they leave the least CPU, then the least memory, unused. The pool is kept sorted as placements consume resources
// (remove before the change, insert after), so a job costs a binary search plus a short scan, never a scan of every
// node. When a node has the CPU but not the memory, the scan jumps, with one more binary search, past every node with
// the same free CPU and less memory.

import type { ClusterState } from "./state";

export class NodePool {
  private arr: Int32Array;
  private len: number;

  constructor(
    private readonly state: ClusterState,
    nodes: number[],
  ) {
    const { cpu, mem, rank } = state;
    const sorted = nodes.slice().sort((a, b) => cpu[a]! - cpu[b]! || mem[a]! - mem[b]! || rank[a]! - rank[b]!);
    this.arr = Int32Array.from(sorted);
    this.len = sorted.length;
  }

  get size(): number {
    return this.len;
  }

  at(i: number): number {
    return this.arr[i]!;
  }

  /** First position whose node sorts at or after (cpu, mem, rank), searching from `lo`. */
  lowerBound(cpu: number, mem: number, rank: number, lo = 0): number {
    const { arr } = this;
    const c = this.state.cpu,
      m = this.state.mem,
      r = this.state.rank;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const n = arr[mid]!;
      const nc = c[n]!;
      if (nc < cpu || (nc === cpu && (m[n]! < mem || (m[n] === mem && r[n]! < rank)))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Call before the node's free CPU or memory changes. */
  remove(node: number): void {
    const i = this.lowerBound(this.state.cpu[node]!, this.state.mem[node]!, this.state.rank[node]!);
    if (this.arr[i] !== node) throw new Error(`scheduler: node ${this.state.names[node]} is not where its pool expects it`);
    this.arr.copyWithin(i, i + 1, this.len);
    this.len--;
  }

  /** Call after the node's free CPU or memory changed. */
  insert(node: number): void {
    const i = this.lowerBound(this.state.cpu[node]!, this.state.mem[node]!, this.state.rank[node]!);
    this.arr.copyWithin(i + 1, i, this.len);
    this.arr[i] = node;
    this.len++;
  }
}

/** The pools of a cycle, built on first use, and the pools each node belongs to (to keep them sorted). */
export class Pools {
  private readonly pools = new Map<string, NodePool>();
  private readonly ofNode: NodePool[][];

  constructor(private readonly state: ClusterState) {
    this.ofNode = Array.from({ length: state.count }, () => []);
  }

  /** Up nodes of the partition; with `gres`, only those that have some GRES of that name. */
  get(partition: string, gres: string | undefined): NodePool {
    const key = gres === undefined ? partition : `${partition}\u0000${gres}`;
    let pool = this.pools.get(key);
    if (pool) return pool;
    const info = this.state.partitions.get(partition);
    let nodes = info ? info.upNodes : [];
    if (gres !== undefined) {
      const group = this.state.gresKeys.group(gres) ?? [];
      const K = this.state.k;
      nodes = nodes.filter((n) => group.some((k) => this.state.capacity[n]![2 + k]! > 0 || this.state.gres[n * K + k]! > 0));
    }
    pool = new NodePool(this.state, nodes);
    this.pools.set(key, pool);
    for (const n of nodes) this.ofNode[n]!.push(pool);
    return pool;
  }

  /** Change a node's free resources through `change`, keeping every pool holding it sorted. */
  update(node: number, change: () => void): void {
    const pools = this.ofNode[node]!;
    for (const p of pools) p.remove(node);
    change();
    for (const p of pools) p.insert(node);
  }
}
