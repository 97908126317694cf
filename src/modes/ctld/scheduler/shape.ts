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

export function shapeKey(job: PendingJob): string {
  const r = job.perNode;
  let gres = "";
  for (const key in r.gres) gres += `${key}=${r.gres[key]},`;
  return (
    `${job.partition}\u0000${r.cpu}\u0000${r.memoryBytes}\u0000${gres}\u0000${job.nodeNum}\u0000${job.exclusive ? 1 : 0}` +
    `\u0000${job.nodelist?.join(",") ?? ""}\u0000${job.excludes?.join(",") ?? ""}`
  );
}
