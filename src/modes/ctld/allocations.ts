// What the active jobs hold: resources and device files per node, a step's share of its job's devices, and the
// snapshot the scheduler decides on. Functions of the active jobs and the node registry; nothing here calls out.
import type { Logger } from "../../core/log";
import { JobStatus } from "../../core/generated/crane/crane";
import { isTerminal } from "../../core/job-state";
import { toPendingJob } from "./admission";
import { assignDevices, gresCount, legacyDevices, pickStepDevices, type DeviceMap } from "./devices";
import type { NodeRegistry } from "./nodes";
import type { JobRecord, StepRecord } from "./records";
import type { PendingJob, Placement, Resources, Snapshot } from "./scheduler";

const UNLIMITED = Infinity;

/** The active jobs (ActiveJobs, or any map of them): walked afresh by each function. */
export interface ActiveJobSet {
  values(): Iterable<JobRecord>;
}

/** Whether the job still holds its allocation on node `n` (a Completing job until that node freed it). */
export function holdsAllocationOn(job: JobRecord, n: string): boolean {
  if (job.status === JobStatus.Pending) return false;
  return !(job.status === JobStatus.Completing && !job.pendingFree.includes(n));
}

/** Resources held by jobs on each node, from the jobs that hold an allocation. */
export function allocatedByNode(jobs: ActiveJobSet): Map<string, Resources> {
  const used = new Map<string, Resources>();
  for (const job of jobs.values()) {
    if (job.status === JobStatus.Pending) continue;
    for (const n of job.nodes) {
      if (!holdsAllocationOn(job, n)) continue;
      const u = used.get(n) ?? { cpu: 0, memoryBytes: 0, gres: {} };
      const alloc = job.allocByNode?.[n] ?? job.allocPerNode;
      u.cpu += alloc.cpu;
      u.memoryBytes += alloc.memoryBytes;
      for (const [k, v] of Object.entries(alloc.gres)) u.gres[k] = (u.gres[k] ?? 0) + v;
      used.set(n, u);
    }
  }
  return used;
}

/** Device files held on each node by the jobs holding an allocation there (same rule as allocatedByNode). */
export function heldDevices(jobs: ActiveJobSet, nodes: NodeRegistry): Map<string, Set<string>> {
  const held = new Map<string, Set<string>>();
  for (const job of jobs.values()) {
    for (const n of job.nodes) {
      if (!holdsAllocationOn(job, n)) continue;
      const set = held.get(n) ?? new Set<string>();
      for (const files of Object.values(jobDevices(job, n, nodes))) for (const f of files) set.add(f);
      held.set(n, set);
    }
  }
  return held;
}

/** The device files the job holds on a node (jobs started before devices were tracked: the old first-N rule). */
export function jobDevices(job: JobRecord, node: string, nodes: NodeRegistry): DeviceMap {
  const mine = job.devicesByNode?.[node];
  if (mine) return mine;
  const alloc = job.allocByNode?.[node] ?? job.allocPerNode;
  return legacyDevices(nodes.get(node)?.deviceFiles ?? {}, alloc.gres);
}

/**
 * The job's devices a step uses on a node: all of them when it asks for as many as the job holds (or inherits the
 * job's); otherwise its own share, chosen once, apart from its running siblings' shares where possible.
 */
export function stepDeviceMap(job: JobRecord, step: StepRecord, node: string, nodes: NodeRegistry): DeviceMap {
  const ofJob = jobDevices(job, node, nodes);
  const jobGres = (job.allocByNode?.[node] ?? job.allocPerNode).gres;
  const asksSubset = Object.entries(step.resPerNode.gres).some(([k, v]) => v > 0 && v < gresCount(jobGres, k));
  if (!asksSubset) return ofJob;
  const chosen = step.devicesByNode?.[node];
  if (chosen) return chosen;
  const held = new Set<string>();
  for (const sibling of job.steps) {
    if (sibling === step || isTerminal(sibling.status)) continue;
    for (const files of Object.values(sibling.devicesByNode?.[node] ?? {})) for (const f of files) held.add(f);
  }
  const picked = pickStepDevices(ofJob, step.resPerNode.gres, held);
  (step.devicesByNode ??= {})[node] = picked;
  return picked;
}

/** Picks free devices on each of a starting job's nodes. `held` is updated, so later jobs of the cycle see them. */
/**
 * Gives the jobs a scheduling pass starts their devices, out of those held before the pass: made before the jobs
 * start, then called for each once it has its nodes. (Held devices are looked up only when a placement uses GRES.)
 */
export function deviceAssigner(placements: readonly Placement[], jobs: ActiveJobSet, nodes: NodeRegistry, log: Logger): (job: JobRecord) => void {
  if (!placements.some((p) => p.allocated.some((a) => Object.keys(a.gres).length > 0))) return () => undefined;
  const held = heldDevices(jobs, nodes);
  return (job) => assignJobDevices(job, held, nodes, log);
}

export function assignJobDevices(job: JobRecord, held: Map<string, Set<string>>, nodes: NodeRegistry, log: Logger): void {
  const byNode: Record<string, DeviceMap> = {};
  for (const n of job.nodes) {
    const nodeDevices = nodes.get(n)?.deviceFiles ?? {};
    const alloc = job.allocByNode?.[n] ?? job.allocPerNode;
    const set = held.get(n) ?? new Set<string>();
    const { devices, short } = assignDevices(nodeDevices, set, alloc.gres);
    if (short.length) log.error(`job ${job.jobId} on ${n}: not enough free devices (${short.join(", ")}); it gets the free ones`);
    for (const files of Object.values(devices)) for (const f of files) set.add(f);
    held.set(n, set);
    byNode[n] = devices;
  }
  job.devicesByNode = byNode;
}

/** What the scheduler sees: free resources per node, running jobs with their end times, pending jobs. */
/** `gated`: pending jobs that wait for their begin time or dependencies, left out (see dependencies.ts). */
export function buildSnapshot(jobs: ActiveJobSet, registry: NodeRegistry, now: number, nowMono = 0, gated?: ReadonlySet<number>): Snapshot {
  const used = allocatedByNode(jobs);
  const busy = new Set<string>();
  const running: Snapshot["running"] = [];
  const pending: PendingJob[] = [];
  for (const job of jobs.values()) {
    if (job.status === JobStatus.Pending) {
      // A held job waits for its release whatever the cluster does (its reason is Held from submission): a queue
      // of many held jobs costs each schedule cycle nothing.
      if (job.spec.hold || gated?.has(job.jobId)) continue;
      pending.push(toPendingJob(job.jobId, job.spec.partition, job.reqPerNode, job.spec.nodeNum, job.spec, job));
      continue;
    }
    for (const n of job.nodes) busy.add(n);
    const limit = job.spec.timeLimitSeconds ? job.spec.timeLimitSeconds * 1000 : UNLIMITED;
    running.push({
      jobId: job.jobId,
      nodes: job.nodes,
      perNode: job.allocByNode?.[job.nodes[0]!] ?? job.allocPerNode,
      endTime: job.status === JobStatus.Completing ? now : job.startTime + limit,
      exclusive: job.spec.exclusive,
    });
  }
  const nodes = [...registry.nodes.values()].map((n) => {
    const u = used.get(n.name);
    const free: Resources = {
      cpu: n.total.cpu - (u?.cpu ?? 0),
      memoryBytes: n.total.memoryBytes - (u?.memoryBytes ?? 0),
      gres: Object.fromEntries(Object.entries(n.total.gres).map(([k, v]) => [k, v - (u?.gres[k] ?? 0)])),
    };
    const up = n.up && n.drainReason === undefined && !((n.unfitUntilMono ?? 0) > nowMono);
    return { name: n.name, partitions: n.partitions, total: n.total, free, up, exclusiveBusy: busy.has(n.name) };
  });
  return { now, nodes, running, pending };
}
