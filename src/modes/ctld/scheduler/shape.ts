// A job's "shape": everything about a request that decides where it can go (partition, per-node demand, node count,
// exclusivity, node list, excludes), but not who asks or for how long. Jobs with the same shape share one compiled
// Shape per cycle, and with it the memory of failure: free resources only shrink and holds only grow during a cycle,
// so a shape that did not fit will not fit later in the same cycle (for a time limit at least as long).

import type { Demand } from "./gres";
import type { NodePool } from "./rank";
import type { PendingJob, PendingReason } from "./types";

export interface Shape {
  partition: string;
  demand: Demand;
  nodeNum: number;
  exclusive: boolean;
  /** Nodes of the node list (indices), which must all be used. */
  required: number[];
  /** Nodes a pool scan must skip: the excluded ones and the required ones (already taken). */
  skip: Set<number> | undefined;
  /** Candidate nodes in best-fit order. */
  pool: NodePool;
  /** Set when no node choice can work in this cycle, whatever the free resources. */
  unavailable: PendingReason | undefined;

  /** Memo: did not fit even ignoring reservations. */
  noRoom: boolean;
  /** Memo: the shortest time limit that was held back by reservations (undefined: none yet). */
  heldBackFrom: number | undefined;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mix(h: number, x: number): number {
  f64[0] = x;
  h = Math.imul(h ^ u32[0]!, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ u32[1]!, 0x85ebca6b);
  return h ^ (h >>> 13);
}

interface Entry {
  partition: number;
  cpu: number;
  mem: number;
  nodeNum: number;
  rest: string;
  shape: Shape;
}

/**
 * Shapes of a cycle, found by job. A small hash table on (partition, CPU, memory, node count, rest), where "rest" is a
 * short string of the rarer parts (GRES, exclusive, node list, excludes) and "" for most jobs: looking a job up builds
 * no string and allocates nothing, which matters at 100,000 jobs per cycle.
 */
export class ShapeCache {
  private readonly partitionIds = new Map<string, number>();
  private readonly entries: Entry[] = [];
  private readonly hashes: number[] = [];
  private next: Int32Array = new Int32Array(256);
  private heads: Int32Array = new Int32Array(256).fill(-1);
  // The last lookup, for add().
  private lastHash = 0;
  private lastPartition = 0;
  private lastRest = "";

  find(job: PendingJob): Shape | undefined {
    let partition = this.partitionIds.get(job.partition);
    if (partition === undefined) this.partitionIds.set(job.partition, (partition = this.partitionIds.size));
    const cpu = job.perNode.cpu,
      mem = job.perNode.memoryBytes,
      nodeNum = job.nodeNum;
    const rest = restKey(job);
    let h = mix(mix(mix(partition, cpu), mem), nodeNum);
    for (let i = 0; i < rest.length; i++) h = Math.imul(h ^ rest.charCodeAt(i), 0x01000193);
    this.lastHash = h;
    this.lastPartition = partition;
    this.lastRest = rest;
    for (let e = this.heads[h & (this.heads.length - 1)]!; e >= 0; e = this.next[e]!) {
      const entry = this.entries[e]!;
      if (entry.partition === partition && entry.cpu === cpu && entry.mem === mem && entry.nodeNum === nodeNum && entry.rest === rest) return entry.shape;
    }
    return undefined;
  }

  /** Add the shape of the job last passed to find(). */
  add(job: PendingJob, shape: Shape): void {
    const e = this.entries.length;
    this.entries.push({ partition: this.lastPartition, cpu: job.perNode.cpu, mem: job.perNode.memoryBytes, nodeNum: job.nodeNum, rest: this.lastRest, shape });
    if (e >= this.heads.length) this.grow();
    else this.link(e, this.lastHash);
    this.hashes.push(this.lastHash);
  }

  private link(e: number, h: number): void {
    const b = h & (this.heads.length - 1);
    this.next[e] = this.heads[b]!;
    this.heads[b] = e;
  }

  private grow(): void {
    const size = this.heads.length * 4;
    this.heads = new Int32Array(size).fill(-1);
    this.next = new Int32Array(size);
    for (let e = 0; e < this.hashes.length; e++) this.link(e, this.hashes[e]!);
    this.link(this.hashes.length, this.lastHash);
  }
}

function restKey(job: PendingJob): string {
  let key = job.exclusive === true ? "x" : "";
  const gres = job.perNode.gres;
  for (const k in gres) key += `|${k}=${gres[k]}`;
  if (job.nodelist !== undefined && job.nodelist.length > 0) key += `|n=${job.nodelist.join(",")}`;
  if (job.excludes !== undefined && job.excludes.length > 0) key += `|e=${job.excludes.join(",")}`;
  return key;
}
