import { describe, expect, it } from "vitest";
import { cluster, job, MINUTE, node, NOW, run } from "./harness";

// Two 4-CPU nodes; n1 is busy until now + 60 min. A wide job (both nodes, whole) waits for n1 and reserves both
// nodes from the shadow time, now + 60 min.
const blocked = () => cluster([node("n1"), node("n2")], [], [{ nodes: ["n1"], cpu: 4, endsIn: 60 }]);

describe("backfill", () => {
  it("backfills a short job ahead of a blocked wide job", () => {
    const snap = blocked();
    snap.pending = [job(1, { cpu: 4, nodeNum: 2, priority: 300 }), job(2, { cpu: 2, minutes: 30, priority: 200 })];
    const r = run(snap);
    expect(r.reasonOf(1)).toBe("Resource");
    expect(r.reservationOf(1)).toEqual({ jobId: 1, nodes: ["n1", "n2"], startTime: NOW + 60 * MINUTE, endTime: NOW + 120 * MINUTE });
    expect(r.nodesOf(2)).toEqual(["n2"]);
    expect(r.placed.get(2)!.backfilled).toBe(true);
  });

  it("backfills a job that ends exactly at the shadow time", () => {
    const snap = blocked();
    snap.pending = [job(1, { cpu: 4, nodeNum: 2, priority: 300 }), job(2, { cpu: 4, minutes: 60, priority: 200 })];
    expect(run(snap).nodesOf(2)).toEqual(["n2"]);
  });

  it("refuses to backfill a job that would delay the blocked job, and says Priority", () => {
    const snap = blocked();
    snap.pending = [
      job(1, { cpu: 4, nodeNum: 2, priority: 300 }),
      job(2, { cpu: 2, minutes: 120, priority: 200 }),
      job(3, { cpu: 2, timeLimitMs: Infinity, priority: 150 }),
      job(4, { cpu: 8, minutes: 10, priority: 100 }),
    ];
    const r = run(snap);
    expect(r.reasonOf(2)).toBe("Priority");
    expect(r.reasonOf(3)).toBe("Priority");
    expect(r.reasonOf(4)).toBe("Resource");
    expect(r.result.placements).toEqual([]);
  });

  it("backfills a long job on resources the blocked job does not need", () => {
    const nodes = [node("n1", { cpu: 8 }), node("n2", { cpu: 4 })];
    const snap = cluster(
      nodes,
      [],
      [
        { nodes: ["n1"], cpu: 6, endsIn: 60 },
        { nodes: ["n2"], cpu: 4, endsIn: 60 },
      ],
    );
    snap.pending = [
      job(1, { cpu: 4, nodeNum: 2, priority: 300 }),
      job(2, { cpu: 2, timeLimitMs: Infinity, priority: 200 }),
      job(3, { cpu: 1, minutes: 5, priority: 100 }),
    ];
    const r = run(snap);
    expect(r.reservationOf(1)?.startTime).toBe(NOW + 60 * MINUTE);
    expect(r.nodesOf(2)).toEqual(["n1"]);
    expect(r.reasonOf(3)).toBe("Resource");
  });

  it("takes the shadow time from the last of the running jobs the blocked job waits for", () => {
    const nodes = [node("n1"), node("n2"), node("n3")];
    const snap = cluster(
      nodes,
      [],
      [
        { nodes: ["n1"], cpu: 4, endsIn: 30 },
        { nodes: ["n2"], cpu: 4, endsIn: 90 },
        { nodes: ["n3"], cpu: 4, endsIn: 45 },
      ],
    );
    snap.pending = [job(1, { cpu: 4, nodeNum: 2 })];
    expect(run(snap).reservationOf(1)).toMatchObject({ startTime: NOW + 45 * MINUTE, nodes: ["n1", "n3"] });
  });

  it("makes no reservation for a job that waits behind jobs without a time limit", () => {
    const snap = cluster([node("n1")], [job(1, { cpu: 4 }), job(2, { cpu: 1, timeLimitMs: Infinity })], [{ nodes: ["n1"], cpu: 3, endsIn: Infinity }]);
    const r = run(snap);
    expect(r.reservationOf(1)).toBeUndefined();
    expect(r.nodesOf(2)).toEqual(["n1"]);
  });

  it("protects a second blocked job with its own, later reservation", () => {
    const nodes = [node("n1"), node("n2"), node("n3")];
    const snap = cluster(nodes, [], [{ nodes: ["n1"], cpu: 4, endsIn: 60 }]);
    snap.pending = [
      job(1, { cpu: 4, nodeNum: 3, minutes: 60, priority: 300 }),
      job(2, { cpu: 4, nodeNum: 3, minutes: 60, priority: 250 }),
      job(3, { cpu: 4, minutes: 50, priority: 200 }),
      job(4, { cpu: 4, minutes: 90, priority: 100 }),
    ];
    const r = run(snap);
    expect(r.reservationOf(1)?.startTime).toBe(NOW + 60 * MINUTE);
    expect(r.reservationOf(2)?.startTime).toBe(NOW + 120 * MINUTE);
    expect(r.nodesOf(3)).toEqual(["n2"]);
    expect(r.reasonOf(4)).toBe("Priority");
  });

  it("counts a backfilled job as busy until its end when reserving for the next blocked job", () => {
    const snap = cluster([node("n1")], [], [{ nodes: ["n1"], cpu: 2, endsIn: 30 }]);
    snap.pending = [
      job(1, { cpu: 4, minutes: 60, priority: 300 }),
      job(2, { cpu: 2, minutes: 20, priority: 200 }),
      job(3, { cpu: 3, minutes: 10, priority: 100 }),
    ];
    const r = run(snap);
    expect(r.reservationOf(1)?.startTime).toBe(NOW + 30 * MINUTE);
    expect(r.nodesOf(2)).toEqual(["n1"]);
    expect(r.reservationOf(3)?.startTime).toBe(NOW + 90 * MINUTE);
  });

  it("reserves nothing with maxBackfillJobs 0, so lower jobs start in plain priority order", () => {
    const snap = blocked();
    snap.pending = [job(1, { cpu: 4, nodeNum: 2, priority: 300 }), job(2, { cpu: 2, timeLimitMs: Infinity, priority: 200 })];
    const r = run(snap, { maxBackfillJobs: 0 });
    expect(r.result.reservations).toEqual([]);
    expect(r.nodesOf(2)).toEqual(["n2"]);
  });

  it("reserves for at most maxBackfillJobs blocked jobs", () => {
    const snap = cluster([node("n1")], [], [{ nodes: ["n1"], cpu: 4, endsIn: 10 }]);
    snap.pending = Array.from({ length: 5 }, (_, i) => job(i + 1, { cpu: 4, minutes: 10, priority: 100 - i }));
    const r = run(snap, { maxBackfillJobs: 3 });
    expect(r.result.reservations.map((x) => x.startTime - NOW)).toEqual([10, 20, 30].map((m) => m * MINUTE));
  });

  it("reserves a whole node for a blocked exclusive job once everything on it has ended", () => {
    const snap = cluster(
      [node("n1")],
      [],
      [
        { nodes: ["n1"], cpu: 1, endsIn: 20 },
        { nodes: ["n1"], cpu: 1, endsIn: 40 },
      ],
    );
    snap.pending = [job(1, { exclusive: true, priority: 300 }), job(2, { cpu: 1, minutes: 30, priority: 200 }), job(3, { cpu: 1, minutes: 50, priority: 100 })];
    const r = run(snap);
    expect(r.reservationOf(1)?.startTime).toBe(NOW + 40 * MINUTE);
    expect(r.nodesOf(2)).toEqual(["n1"]);
    expect(r.reasonOf(3)).toBe("Priority");
  });
});
