// cinfo's view of the cluster: one row per partition and node state (`-o` keys p a n s l R), the per-node table
// (-l), and --json.
import type { NodeInfo, PartitionInfo, QueryClusterReply } from "../generated/crane/crane";
import { compressHostlist, formatGres } from "../parse";
import { parseFormat, renderFormat, type FormatColumn } from "./format";
import { resourceJson, rfc3339, type ResourceJson } from "./json";
import { renderTable } from "./table";

export interface PartitionStateRow {
  partition: string;
  avail: "up" | "down";
  nodes: number;
  state: string;
  nodelist: string;
  reason: string;
}

/** The keys of `cinfo -o`. */
export const CLUSTER_COLUMNS: FormatColumn<PartitionStateRow>[] = [
  { letter: "p", name: "partition", value: (r) => r.partition },
  { letter: "a", name: "avail", value: (r) => r.avail },
  { letter: "n", name: "nodes", value: (r) => String(r.nodes) },
  { letter: "s", name: "state", value: (r) => r.state },
  { letter: "l", name: "nodelist", value: (r) => r.nodelist },
  { letter: "R", name: "reason", value: (r) => r.reason },
];

/**
 * A row per partition and node state among its nodes (the default partition marked `*`); a partition without
 * any node that matched gets a row `0 n/a`. `downOnly` (-R): only the down and drained rows.
 */
export function partitionStateRows(reply: QueryClusterReply, downOnly: boolean): PartitionStateRow[] {
  const rows: PartitionStateRow[] = [];
  for (const p of reply.partitions) {
    const groups = new Map<string, NodeInfo[]>();
    for (const n of reply.nodes.filter((n) => n.partitions.includes(p.name))) groups.set(n.state, [...(groups.get(n.state) ?? []), n]);
    const base = { partition: p.name + (p.isDefault ? "*" : ""), avail: p.up ? ("up" as const) : ("down" as const) };
    for (const [state, nodes] of groups) {
      if (downOnly && !["down", "drain", "drng"].includes(state)) continue;
      rows.push({ ...base, nodes: nodes.length, state, nodelist: compressHostlist(nodes.map((n) => n.name)), reason: nodes[0]?.reason ?? "" });
    }
    if (groups.size === 0 && !downOnly) rows.push({ ...base, partition: p.name, nodes: 0, state: "n/a", nodelist: "", reason: "" });
  }
  return rows;
}

export function checkClusterFormat(format: string): void {
  parseFormat(format, CLUSTER_COLUMNS);
}

export function renderPartitionStates(rows: PartitionStateRow[], opts: { noHeader: boolean; listReasons: boolean; format?: string }): string {
  if (opts.format !== undefined) return renderFormat(parseFormat(opts.format, CLUSTER_COLUMNS), rows, undefined, opts);
  const headers = ["PARTITION", "AVAIL", "NODES", "STATE", "NODELIST", ...(opts.listReasons ? ["REASON"] : [])];
  const cells = rows.map((r) => [r.partition, r.avail, String(r.nodes), r.state, r.nodelist, ...(opts.listReasons ? [r.reason] : [])]);
  return renderTable(headers, cells, { noHeader: opts.noHeader }).trimEnd();
}

/** `cinfo -l`: one line per node with its CPU, memory and GRES use. */
export function renderNodes(nodes: NodeInfo[], opts: { noHeader: boolean }): string {
  const rows = nodes.map((n) => [
    n.name,
    n.partitions.join(","),
    n.state,
    `${n.allocated?.cpu ?? 0}/${n.total?.cpu ?? 0}`,
    `${Math.round((n.allocated?.memoryBytes ?? 0) / 1048576)}/${Math.round((n.total?.memoryBytes ?? 0) / 1048576)}M`,
    formatGres(n.total?.gres ?? {}) || "-",
    n.reason,
  ]);
  return renderTable(["NODE", "PARTITION", "STATE", "CPU(A/T)", "MEM(A/T)", "GRES", "REASON"], rows, opts).trimEnd();
}

export interface PartitionJson {
  name: string;
  nodes: string[];
  up: boolean;
  priority: number;
  max_time_seconds: number;
  is_default: boolean;
}

export interface NodeJson {
  name: string;
  state: string;
  total: ResourceJson;
  allocated: ResourceJson;
  partitions: string[];
  address: string;
  reason: string;
  last_seen_time: string | null;
}

/** `cinfo --json`. */
export interface ClusterJson {
  partitions: PartitionJson[];
  nodes: NodeJson[];
}

function partitionJson(p: PartitionInfo): PartitionJson {
  return { name: p.name, nodes: p.nodes, up: p.up, priority: p.priority, max_time_seconds: p.maxTimeSeconds, is_default: p.isDefault };
}

function nodeJson(n: NodeInfo): NodeJson {
  return {
    name: n.name,
    state: n.state,
    total: resourceJson(n.total),
    allocated: resourceJson(n.allocated),
    partitions: n.partitions,
    address: n.address,
    reason: n.reason,
    last_seen_time: rfc3339(n.lastSeen),
  };
}

export function clusterJson(reply: QueryClusterReply): ClusterJson {
  return { partitions: reply.partitions.map(partitionJson), nodes: reply.nodes.map(nodeJson) };
}
