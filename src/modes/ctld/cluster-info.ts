// Nodes and partitions as users see them (cinfo, crane top): configured resources, what jobs hold, a state word.
import type { NodeInfo, PartitionInfo } from "../../core/generated/crane/crane";
import type { JobManager } from "./job-manager";

export interface ClusterFilter {
  partitions?: string[];
  nodes?: string[];
  states?: string[];
}

/** Every node (or those the filter names) with its allocation: idle | mix | alloc | down. */
export function nodeInfos(jm: JobManager, q: ClusterFilter = {}): NodeInfo[] {
  const used = jm.allocatedByNode();
  return [...jm.nodes.nodes.values()]
    .filter((n) => !q.nodes?.length || q.nodes.includes(n.name))
    .filter((n) => !q.partitions?.length || n.partitions.some((p) => q.partitions!.includes(p)))
    .map((n) => {
      const u = used.get(n.name) ?? { cpu: 0, memoryBytes: 0, gres: {} };
      let state = "idle";
      const busy = u.cpu > 0 || u.memoryBytes > 0;
      if (!n.up) state = "down";
      else if (n.drainReason !== undefined) state = busy ? "drng" : "drain";
      else if (u.cpu >= n.total.cpu - 1e-9 || u.memoryBytes >= n.total.memoryBytes) state = "alloc";
      else if (busy) state = "mix";
      return {
        name: n.name,
        state,
        total: n.total,
        allocated: u,
        partitions: n.partitions,
        address: n.address,
        reason: !n.up ? n.reason : (n.drainReason ?? ""),
        lastSeen: n.lastSeen,
      };
    })
    .filter((n) => !q.states?.length || q.states.includes(n.state));
}

export function partitionInfos(jm: JobManager, q: ClusterFilter = {}): PartitionInfo[] {
  const cfg = jm.config;
  return cfg.partitions
    .filter((p) => !q.partitions?.length || q.partitions.includes(p.name))
    .map((p) => ({
      name: p.name,
      nodes: p.nodes,
      up: true,
      priority: p.priority,
      maxTimeSeconds: p.maxTimeSeconds,
      isDefault: p.name === cfg.defaultPartition,
    }));
}
