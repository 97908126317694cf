import { describe, expect, it } from "vitest";
import type { PendingJob, Snapshot } from "../../../src/modes/ctld/scheduler";
import { cluster, job, MINUTE, node, NOW, run, type RunningSpec } from "./harness";
import { prng } from "../../harness/prng";

function randomCluster(seed: number): Snapshot {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const nodes = Array.from({ length: 3 + Math.floor(rnd() * 8) }, (_, i) =>
    node(`n${i}`, {
      cpu: pick([2, 4, 8]),
      memGiB: pick([8, 16, 32]),
      partitions: rnd() < 0.8 ? ["CPU"] : ["CPU", "GPU"],
      gres: rnd() < 0.3 ? { "gpu:a100": 2 } : {},
      up: rnd() < 0.9,
    }),
  );
  const running: RunningSpec[] = [];
  for (const n of nodes)
    if (rnd() < 0.5)
      running.push({ nodes: [n.name], cpu: pick([0.5, 1, 2]), memGiB: pick([1, 2, 4]), endsIn: pick([5, 30, 60, 120, Infinity]), exclusive: rnd() < 0.1 });
  const pending: PendingJob[] = Array.from({ length: 5 + Math.floor(rnd() * 25) }, (_, i) =>
    job(i + 1, {
      cpu: pick([0.5, 1, 2, 3, 4]),
      memGiB: pick([1, 2, 4, 8]),
      nodeNum: pick([1, 1, 1, 2, 3]),
      priority: Math.floor(rnd() * 5),
      minutes: pick([5, 20, 45, 90, 300]),
      ...(rnd() < 0.1 ? { timeLimitMs: Infinity } : {}),
      ...(rnd() < 0.15 ? { partition: "GPU", gres: pick<Record<string, number>>([{ gpu: 1 }, { "gpu:a100": 2 }]) } : {}),
      ...(rnd() < 0.1 ? { excludes: [pick(nodes).name] } : {}),
      ...(rnd() < 0.05 ? { held: true } : {}),
      ...(rnd() < 0.08 ? { exclusive: true } : {}),
      ...(rnd() < 0.05 ? { nodelist: [pick(nodes).name] } : {}),
    }),
  );
  return cluster(nodes, pending, running);
}

describe("invariants on random clusters", () => {
  it("never overcommits a node, now or at any reservation's start", () => {
    let reservations = 0,
      backfilled = 0,
      heldBack = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const snap = randomCluster(seed);
      const { result } = run(snap);
      reservations += result.reservations.length;
      backfilled += result.placements.filter((p) => p.backfilled).length;
      heldBack += [...result.pending.values()].filter((r) => r === "Priority").length;
      const jobs = new Map(snap.pending.map((j) => [j.jobId, j]));

      // Every job is either placed or pending with a reason, never both.
      for (const j of snap.pending) expect(result.placements.some((p) => p.jobId === j.jobId)).toBe(!result.pending.has(j.jobId));

      // Usage of a node at time t by running jobs, placements and reservations active at t; an exclusive job counts
      // as the whole node, and the node's count of jobs tells whether an exclusive job shares it.
      const usage = (name: string, t: number) => {
        const total = snap.nodes.find((x) => x.name === name)!.total;
        let cpu = 0,
          mem = 0,
          jobsOn = 0,
          exclusive = 0;
        const use = (perNode: { cpu: number; memoryBytes: number }, excl: boolean) => {
          jobsOn++;
          if (excl) exclusive++;
          cpu += excl ? total.cpu : perNode.cpu;
          mem += excl ? total.memoryBytes : perNode.memoryBytes;
        };
        for (const a of snap.running) if (a.nodes.includes(name) && Math.max(a.endTime, NOW + 1) > t) use(a.perNode, a.exclusive);
        for (const p of result.placements) if (p.nodes.includes(name) && p.endTime > t) use(p.perNode, p.exclusive);
        for (const r of result.reservations)
          if (r.nodes.includes(name) && r.startTime <= t && t < r.endTime) use(jobs.get(r.jobId)!.perNode, jobs.get(r.jobId)!.exclusive === true);
        return { cpu, mem, shared: exclusive > 0 && jobsOn > 1 };
      };
      const times = [NOW, ...result.reservations.map((r) => r.startTime)];
      for (const n of snap.nodes)
        for (const t of times) {
          const u = usage(n.name, t);
          expect(u.cpu, `seed ${seed}: cpu of ${n.name} at +${(t - NOW) / MINUTE} min`).toBeLessThanOrEqual(n.total.cpu + 1e-9);
          expect(u.mem, `seed ${seed}: memory of ${n.name}`).toBeLessThanOrEqual(n.total.memoryBytes);
          expect(u.shared, `seed ${seed}: ${n.name} shared with an exclusive job at +${(t - NOW) / MINUTE} min`).toBe(false);
        }

      for (const p of result.placements) {
        const j = jobs.get(p.jobId)!;
        expect(new Set(p.nodes).size).toBe(j.nodeNum);
        for (const name of p.nodes) {
          const n = snap.nodes.find((x) => x.name === name)!;
          expect(n.up && n.partitions.includes(j.partition) && !(j.excludes ?? []).includes(name)).toBe(true);
        }
        for (const name of j.nodelist ?? []) expect(p.nodes).toContain(name);
        // GPUs per node never exceed what the node has.
        for (const name of p.nodes) {
          const n = snap.nodes.find((x) => x.name === name)!;
          const used = result.placements
            .filter((q) => q.nodes.includes(name))
            .reduce((s, q) => s + (q.allocated[q.nodes.indexOf(name)]!.gres["gpu:a100"] ?? 0), 0);
          expect(used).toBeLessThanOrEqual(n.free.gres["gpu:a100"] ?? 0);
        }
      }
    }
    // The random clusters do exercise backfill.
    expect(Math.min(reservations, backfilled, heldBack)).toBeGreaterThan(20);
  });
});
