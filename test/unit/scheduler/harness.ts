// A test harness in the style of Nomad's scheduler Harness: build a snapshot in memory, run schedule(), read results.
import {
  schedule,
  type NodeSnapshot,
  type PendingJob,
  type Resources,
  type RunningAllocation,
  type ScheduleOptions,
  type Snapshot,
} from "../../../src/modes/ctld/scheduler";

export const GiB = 1024 ** 3;
export const MINUTE = 60_000;
export const NOW = 1_700_000_000_000;

export interface NodeSpec {
  cpu?: number;
  memGiB?: number;
  gres?: Record<string, number>;
  partitions?: string[];
  up?: boolean;
}

export function node(name: string, spec: NodeSpec = {}): NodeSnapshot {
  const total: Resources = { cpu: spec.cpu ?? 4, memoryBytes: (spec.memGiB ?? 16) * GiB, gres: { ...spec.gres } };
  return { name, partitions: spec.partitions ?? ["CPU"], total, free: clone(total), up: spec.up ?? true };
}

export interface JobSpec extends Partial<Omit<PendingJob, "perNode">> {
  cpu?: number;
  memGiB?: number;
  gres?: Record<string, number>;
  minutes?: number;
}

export function job(jobId: number, spec: JobSpec = {}): PendingJob {
  const { cpu, memGiB, gres, minutes, ...rest } = spec;
  return {
    jobId,
    partition: "CPU",
    priority: 100,
    submitTime: NOW - 1000 + jobId,
    nodeNum: 1,
    timeLimitMs: minutes === undefined ? 60 * MINUTE : minutes * MINUTE,
    perNode: { cpu: cpu ?? 1, memoryBytes: (memGiB ?? 1) * GiB, gres: { ...gres } },
    ...rest,
  };
}

export interface RunningSpec {
  nodes: string[];
  cpu?: number;
  memGiB?: number;
  gres?: Record<string, number>;
  /** Minutes from now until it ends; Infinity for no limit. */
  endsIn?: number;
  exclusive?: boolean;
}

/** A snapshot whose nodes' free resources and exclusiveBusy flags account for the running allocations. */
export function cluster(nodes: NodeSnapshot[], pending: PendingJob[], running: RunningSpec[] = []): Snapshot {
  const allocations: RunningAllocation[] = running.map((r, i) => ({
    jobId: 10_000 + i,
    nodes: r.nodes,
    perNode: { cpu: r.cpu ?? 1, memoryBytes: (r.memGiB ?? 1) * GiB, gres: { ...r.gres } },
    endTime: NOW + (r.endsIn ?? 60) * MINUTE,
    exclusive: r.exclusive ?? false,
  }));
  for (const a of allocations)
    for (const name of a.nodes) {
      const n = nodes.find((x) => x.name === name)!;
      n.free.cpu -= a.perNode.cpu;
      n.free.memoryBytes -= a.perNode.memoryBytes;
      for (const [k, c] of Object.entries(a.perNode.gres)) n.free.gres[k] = (n.free.gres[k] ?? 0) - c;
      n.exclusiveBusy = true;
    }
  return { now: NOW, nodes, running: allocations, pending };
}

/** Run the scheduler and index the result by job id. */
export function run(snapshot: Snapshot, opts?: ScheduleOptions) {
  const result = schedule(snapshot, opts);
  const placed = new Map(result.placements.map((p) => [p.jobId, p]));
  return {
    result,
    placed,
    nodesOf: (jobId: number) => placed.get(jobId)?.nodes,
    reasonOf: (jobId: number) => result.pending.get(jobId),
    reservationOf: (jobId: number) => result.reservations.find((r) => r.jobId === jobId),
  };
}

function clone<T>(x: T): T {
  return structuredClone(x);
}
