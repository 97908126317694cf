// Scheduler benchmark: one cycle of schedule() on a fake cluster of 10,000 nodes and 100,000 pending jobs.
// Prints one JSON object; a "decision" is one pending job considered. No timing assertions (see design.md, Testing).
//   npm run bench:sched            (env: NODES, JOBS, CYCLES to change the size)
import { schedule, type NodeSnapshot, type PendingJob, type RunningAllocation, type Snapshot } from "../src/modes/ctld/scheduler";
import { prng } from "../test/harness/prng";

const GiB = 1024 ** 3;
const MINUTE = 60_000;
const NOW = 1_700_000_000_000;
const NODES = Number(process.env.NODES ?? 10_000);
const JOBS = Number(process.env.JOBS ?? 100_000);
const CYCLES = Number(process.env.CYCLES ?? 7);

const rnd = prng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const chance = (p: number) => rnd() < p;

function buildSnapshot(): Snapshot {
  const nodes: NodeSnapshot[] = [];
  const add = (name: string, partitions: string[], cpu: number, memGiB: number, gres: Record<string, number> = {}) =>
    nodes.push({
      name,
      partitions,
      total: { cpu, memoryBytes: memGiB * GiB, gres },
      free: { cpu, memoryBytes: memGiB * GiB, gres: { ...gres } },
      up: !chance(0.01),
    });
  for (let i = 0; i < NODES; i++) {
    const name = `node${String(i).padStart(5, "0")}`;
    const r = i / NODES;
    if (r < 0.6) {
      const [cpu, mem] = pick([
        [32, 128],
        [64, 256],
        [128, 512],
      ] as const);
      add(name, i % 6 === 0 ? ["CPU", "DEBUG"] : ["CPU"], cpu, mem);
    } else if (r < 0.7) add(name, ["GPU"], 64, 512, { "gpu:a100": 8 });
    else if (r < 0.75) add(name, ["GPU"], 96, 1024, { "gpu:h100": 4 });
    else if (r < 0.8) add(name, ["BIGMEM"], 64, 2048);
    else add(name, ["DEBUG", "SMALL"], 16, 64);
  }

  // About a third of the nodes run something, ending within a day (or never).
  const running: RunningAllocation[] = [];
  let id = 1;
  for (const n of nodes) {
    if (!n.up || !chance(0.35)) continue;
    const cpu = Math.max(1, Math.floor(n.total.cpu * pick([0.25, 0.5, 0.75, 1])));
    const mem = Math.min(n.free.memoryBytes, cpu * 4 * GiB);
    const gres: Record<string, number> = {};
    for (const [k, c] of Object.entries(n.total.gres)) gres[k] = Math.ceil(c / 2);
    running.push({
      jobId: id++,
      nodes: [n.name],
      perNode: { cpu, memoryBytes: mem, gres },
      endTime: chance(0.05) ? Infinity : NOW + Math.floor(rnd() * 24 * 60) * MINUTE,
      exclusive: chance(0.02),
    });
    n.free.cpu -= cpu;
    n.free.memoryBytes -= mem;
    for (const [k, c] of Object.entries(gres)) n.free.gres[k]! -= c;
    n.exclusiveBusy = true;
  }

  // Jobs are built by one function, with every field present, as ctld builds them from its job table.
  const makeJob = (partition: string, nodeNum: number, perNode: PendingJob["perNode"], extra: Partial<PendingJob> = {}): PendingJob => ({
    jobId: 1_000_000 + pending.length,
    partition,
    priority: Math.floor(rnd() * 1000),
    submitTime: NOW - Math.floor(rnd() * 86_400_000),
    nodeNum,
    perNode,
    timeLimitMs: chance(0.05) ? Infinity : pick([10, 30, 60, 120, 240, 720, 1440, 4320]) * MINUTE,
    nodelist: undefined,
    excludes: extra.excludes,
    exclusive: extra.exclusive ?? false,
    held: chance(0.02),
  });
  const pending: PendingJob[] = [];
  for (let i = 0; i < JOBS; i++) {
    const kind = rnd();
    if (kind < 0.6) {
      const cpu = pick([0.5, 1, 1, 2, 4, 4, 8, 16, 32, 64]);
      const memoryBytes = chance(0.1) ? Math.ceil(rnd() * 256) * GiB : cpu * pick([2, 4, 8]) * GiB;
      pending.push(makeJob("CPU", chance(0.1) ? pick([2, 4, 8, 16, 64]) : 1, { cpu, memoryBytes, gres: {} }, { exclusive: chance(0.01) }));
    } else if (kind < 0.8) {
      const gpus = pick([1, 1, 2, 4, 8]);
      const type = pick(["gpu", "gpu", "gpu:a100", "gpu:h100"]);
      const gres = { [type]: Math.min(gpus, type === "gpu:h100" ? 4 : 8) };
      pending.push(makeJob("GPU", chance(0.1) ? pick([2, 4, 8]) : 1, { cpu: gpus * 8, memoryBytes: gpus * 64 * GiB, gres }));
    } else if (kind < 0.85) {
      pending.push(makeJob("BIGMEM", 1, { cpu: pick([4, 8, 16]), memoryBytes: pick([256, 512, 1024, 1536]) * GiB, gres: {} }));
    } else {
      const perNode = { cpu: pick([0.5, 1, 2, 4, 8]), memoryBytes: pick([1, 2, 4, 8]) * GiB, gres: {} };
      pending.push(makeJob(pick(["DEBUG", "SMALL"]), pick([1, 1, 2, 4]), perNode, { excludes: chance(0.05) ? [pick(nodes).name] : undefined }));
    }
  }
  return { now: NOW, nodes, running, pending };
}

const snapshot = buildSnapshot();
const times: number[] = [];
let placed = 0;
let reservations = 0;
for (let c = 0; c < CYCLES; c++) {
  const t0 = performance.now();
  const result = schedule(snapshot);
  times.push(performance.now() - t0);
  placed = result.placements.length;
  reservations = result.reservations.length;
}
// The first cycle includes JIT warm-up; report it separately and the rest as the steady state.
const steady = (times.length > 1 ? times.slice(1) : times).slice().sort((a, b) => a - b);
const quantile = (q: number) => steady[Math.min(steady.length - 1, Math.ceil(q * steady.length) - 1)]!;
const median = quantile(0.5);
console.log(
  JSON.stringify({
    nodes: snapshot.nodes.length,
    pendingJobs: snapshot.pending.length,
    runningAllocations: snapshot.running.length,
    cycles: CYCLES,
    placedPerCycle: placed,
    reservationsPerCycle: reservations,
    decisionsPerSecond: Math.round(snapshot.pending.length / (median / 1000)),
    cycleMsMedian: Number(median.toFixed(1)),
    cycleMsP95: Number(quantile(0.95).toFixed(1)),
    firstCycleMs: Number(times[0]!.toFixed(1)),
  }),
);
