// Feasibility: which nodes may a job use at all, before looking at free resources?
//
// filterNodes() is the first step of the pipeline: partition, up/down, node list and excludes. It turns a job into a
// Shape whose pool holds only candidate nodes, or into a pending reason when no choice of nodes can work.
//
// feasibleEver() answers the submit-time question "could this request ever run here, on an empty cluster?", with a
// message that names the limiting resource.

import { compileDemand, formatBytes, formatCpus, gresName, GresKeys, vectorFits } from "./gres";
import type { Pools } from "./rank";
import type { Shape } from "./shape";
import type { ClusterState } from "./state";
import type { NodeSnapshot, PendingJob, Resources } from "./types";

export function filterNodes(state: ClusterState, pools: Pools, job: PendingJob): Shape {
  const demand = compileDemand(job.perNode, state.gresKeys);
  const shape: Shape = {
    partition: job.partition,
    demand,
    nodeNum: job.nodeNum,
    exclusive: job.exclusive === true,
    required: [],
    skip: undefined,
    pool: pools.get(job.partition, demand.poolGres),
    unavailable: undefined,
    noRoom: demand.impossible,
    heldBackFrom: undefined,
  };
  const info = state.partitions.get(job.partition);
  if (!info || info.upNodes.length === 0) {
    shape.unavailable = "PartitionDown";
    return shape;
  }
  const skip = new Set<number>();
  for (const name of job.excludes ?? []) {
    const n = state.byName.get(name);
    if (n !== undefined) skip.add(n);
  }
  let excludedUp = 0;
  for (const n of skip) if (state.up[n] && state.partitionsOf[n]!.includes(job.partition)) excludedUp++;

  const required = [...new Set(job.nodelist ?? [])];
  if (required.length > job.nodeNum) shape.unavailable = "ReqNodeNotAvail";
  for (const name of required) {
    const n = state.byName.get(name);
    if (n === undefined || !state.up[n] || skip.has(n) || !state.partitionsOf[n]!.includes(job.partition)) {
      shape.unavailable = "ReqNodeNotAvail";
      continue;
    }
    shape.required.push(n);
  }
  for (const n of shape.required) skip.add(n);
  shape.skip = skip.size > 0 ? skip : undefined;
  if (shape.unavailable === undefined && info.upNodes.length - excludedUp < job.nodeNum) shape.unavailable = "NodeNotAvailable";
  return shape;
}

/**
 * null when some nodes of the job's partition could satisfy the job with all their resources (nodes that are down
 * count: they may come back), else why not, naming the limiting resource:
 * `requested 64 CPUs per node but the largest node in partition "CPU" has 8`.
 */
export function feasibleEver(job: PendingJob, nodes: NodeSnapshot[]): string | null {
  const req = job.perNode;
  const part = `partition "${job.partition}"`;
  if (!Number.isInteger(job.nodeNum) || job.nodeNum < 1) return `requested ${job.nodeNum} nodes; a job needs at least 1 node`;
  if (!(req.cpu > 0)) return `requested ${formatCpus(req.cpu)} per node; a job needs more than 0 CPUs`;
  if (!(req.memoryBytes >= 0)) return `requested ${req.memoryBytes} bytes of memory per node; memory cannot be negative`;
  for (const [key, count] of Object.entries(req.gres)) if (!(count >= 0)) return `requested ${key}:${count} per node; a GRES count cannot be negative`;

  const inPartition = nodes.filter((n) => n.partitions.includes(job.partition));
  if (inPartition.length === 0) {
    const known = [...new Set(nodes.flatMap((n) => n.partitions))].sort();
    return `${part} does not exist (${known.length ? `known: ${known.join(", ")}` : "no partition has nodes"})`;
  }

  const excludes = new Set(job.excludes ?? []);
  const required = [...new Set(job.nodelist ?? [])];
  if (required.length > job.nodeNum) return `the node list names ${required.length} nodes but the job requests only ${job.nodeNum}`;
  for (const name of required) {
    const node = nodes.find((n) => n.name === name);
    if (!node) return `node "${name}" in the node list does not exist`;
    if (!node.partitions.includes(job.partition))
      return `node "${name}" in the node list is not in ${part} (it is in: ${node.partitions.join(", ") || "no partition"})`;
    if (excludes.has(name)) return `node "${name}" is both in the node list and excluded`;
  }

  const candidates = inPartition.filter((n) => !excludes.has(n.name));
  if (candidates.length < job.nodeNum) {
    const removed = inPartition.length - candidates.length;
    return (
      `requested ${job.nodeNum} nodes but ${part} has ${candidates.length === 0 ? "none" : `only ${candidates.length}`}` +
      (removed > 0 ? ` once ${removed} excluded node${removed === 1 ? " is" : "s are"} left out` : "")
    );
  }

  // One resource at a time, so that the message names the one that is short.
  const maxCpu = Math.max(...candidates.map((n) => n.total.cpu));
  if (req.cpu > maxCpu + 1e-9) return `requested ${formatCpus(req.cpu)} per node but the largest node in ${part} has ${Number(maxCpu.toFixed(3))}`;
  const maxMem = Math.max(...candidates.map((n) => n.total.memoryBytes));
  if (req.memoryBytes > maxMem)
    return `requested ${formatBytes(req.memoryBytes)} of memory per node but the largest node in ${part} has ${formatBytes(maxMem)}`;
  for (const key of Object.keys(req.gres).sort()) {
    const count = req.gres[key]!;
    if (count <= 0) continue;
    const name = gresName(key);
    const have = (n: NodeSnapshot) =>
      Object.entries(n.total.gres).reduce((sum, [k, c]) => sum + ((key.includes(":") ? k === key : gresName(k) === name) ? c : 0), 0);
    const most = Math.max(...candidates.map(have));
    if (most === 0) {
      const present = [...new Set(candidates.flatMap((n) => Object.keys(n.total.gres).filter((k) => n.total.gres[k]! > 0)))].sort();
      return `requested ${key}:${count} per node but no node in ${part} has ${key} (${present.length ? `it has: ${present.join(", ")}` : "it has no GRES"})`;
    }
    if (count > most) return `requested ${key}:${count} per node but the most any node in ${part} has is ${most}`;
  }

  // All resources together, on enough nodes (the node list first).
  const keys = new GresKeys();
  for (const n of candidates) for (const k in n.total.gres) keys.add(k);
  const demand = compileDemand(req, keys);
  const fits = (n: NodeSnapshot) => !demand.impossible && vectorFits(demand, keys.vector(n.total));
  for (const name of required) {
    const node = candidates.find((n) => n.name === name)!;
    if (!fits(node)) return `node "${name}" in the node list has ${describe(node.total)}, less than the ${describe(req)} requested per node`;
  }
  const fitting = candidates.filter(fits).length;
  if (fitting < job.nodeNum)
    return (
      `requested ${job.nodeNum} node${job.nodeNum === 1 ? "" : "s"} with ${describe(req)} each but ` +
      `${fitting === 0 ? "no node" : `only ${fitting} node${fitting === 1 ? "" : "s"}`} in ${part} ${fitting <= 1 ? "has" : "have"} all of that`
    );
  return null;
}

function describe(r: Resources): string {
  const parts = [formatCpus(r.cpu), `${formatBytes(r.memoryBytes)} of memory`];
  for (const key of Object.keys(r.gres).sort()) if (r.gres[key]! > 0) parts.push(`${key}:${r.gres[key]}`);
  return parts.join(", ");
}
