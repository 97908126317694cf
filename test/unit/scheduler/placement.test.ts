import { describe, expect, it } from "vitest";
import { cluster, GiB, job, node, run } from "./harness";

describe("placement", () => {
  it("places a single-node job on a node that fits", () => {
    const r = run(cluster([node("n1")], [job(1, { cpu: 2 })]));
    expect(r.nodesOf(1)).toEqual(["n1"]);
    expect(r.result.pending.size).toBe(0);
    expect(r.placed.get(1)!.allocated).toEqual([{ cpu: 2, memoryBytes: GiB, gres: {} }]);
  });

  it("spreads a multi-node job over distinct nodes", () => {
    const r = run(cluster([node("n1"), node("n2"), node("n3")], [job(1, { cpu: 4, nodeNum: 3 })]));
    expect(r.nodesOf(1)?.slice().sort()).toEqual(["n1", "n2", "n3"]);
  });

  it("leaves a job pending for Resource when no node has enough free CPU", () => {
    const r = run(cluster([node("n1", { cpu: 4 })], [job(1, { cpu: 3 }), job(2, { cpu: 2 })]));
    expect(r.nodesOf(1)).toEqual(["n1"]);
    expect(r.reasonOf(2)).toBe("Resource");
  });

  it("never places part of a multi-node job", () => {
    const r = run(cluster([node("n1"), node("n2")], [job(1, { cpu: 1, nodeNum: 3 }), job(2, { cpu: 4 })]));
    expect(r.reasonOf(1)).toBe("NodeNotAvailable");
    const s = run(cluster([node("n1"), node("n2", { cpu: 1 })], [job(1, { cpu: 2, nodeNum: 2 }), job(2, { cpu: 4 })]));
    expect(s.reasonOf(1)).toBe("Resource");
    expect(s.nodesOf(2)).toEqual(["n1"]);
  });

  it("fits two half-core jobs on one core, and not a third", () => {
    const r = run(cluster([node("n1", { cpu: 1 })], [job(1, { cpu: 0.5 }), job(2, { cpu: 0.5 }), job(3, { cpu: 0.5 })]));
    expect(r.nodesOf(1)).toEqual(["n1"]);
    expect(r.nodesOf(2)).toEqual(["n1"]);
    expect(r.reasonOf(3)).toBe("Resource");
  });

  it("tolerates floating-point error when fractional CPUs add up exactly", () => {
    const jobs = [job(1, { cpu: 0.1 }), job(2, { cpu: 0.2 }), job(3, { cpu: 0.3 }), job(4, { cpu: 0.4 })];
    const r = run(cluster([node("n1", { cpu: 1 })], jobs));
    expect(r.result.placements).toHaveLength(4);
  });

  it("refuses a node whose free memory is too small even with CPUs to spare", () => {
    const r = run(cluster([node("n1", { cpu: 32, memGiB: 8 })], [job(1, { cpu: 1, memGiB: 6 }), job(2, { cpu: 1, memGiB: 4 })]));
    expect(r.nodesOf(1)).toEqual(["n1"]);
    expect(r.reasonOf(2)).toBe("Resource");
  });

  it("chooses the node that leaves the least free CPU (best fit)", () => {
    const nodes = [node("big", { cpu: 32 }), node("small", { cpu: 4 }), node("mid", { cpu: 8 })];
    const r = run(cluster(nodes, [job(1, { cpu: 6 }), job(2, { cpu: 3 }), job(3, { cpu: 20 })]));
    expect(r.nodesOf(1)).toEqual(["mid"]);
    expect(r.nodesOf(2)).toEqual(["small"]);
    expect(r.nodesOf(3)).toEqual(["big"]);
  });

  it("breaks best-fit ties by free memory, then by node name", () => {
    const nodes = [node("c", { memGiB: 64 }), node("b", { memGiB: 16 }), node("a", { memGiB: 16 })];
    const r = run(cluster(nodes, [job(1, { cpu: 4, memGiB: 8 }), job(2, { cpu: 4, memGiB: 8 }), job(3, { cpu: 4, memGiB: 8 })]));
    expect([r.nodesOf(1), r.nodesOf(2), r.nodesOf(3)]).toEqual([["a"], ["b"], ["c"]]);
  });

  it("skips nodes with enough CPU but too little memory, then finds one with both", () => {
    const nodes = [
      node("m1", { cpu: 8, memGiB: 4 }),
      node("m2", { cpu: 8, memGiB: 8 }),
      node("m3", { cpu: 8, memGiB: 64 }),
      node("m4", { cpu: 16, memGiB: 2 }),
    ];
    const r = run(cluster(nodes, [job(1, { cpu: 2, memGiB: 32 })]));
    expect(r.nodesOf(1)).toEqual(["m3"]);
  });

  it("counts resources already used by running jobs", () => {
    const r = run(cluster([node("n1", { cpu: 4 }), node("n2", { cpu: 4 })], [job(1, { cpu: 3 })], [{ nodes: ["n1"], cpu: 2 }]));
    expect(r.nodesOf(1)).toEqual(["n2"]);
  });

  it("gives the same result for the same snapshot", () => {
    const make = () =>
      cluster(
        Array.from({ length: 20 }, (_, i) => node(`n${i}`, { cpu: 4 + (i % 3) * 4 })),
        Array.from({ length: 60 }, (_, i) => job(i + 1, { cpu: 1 + (i % 5), nodeNum: 1 + (i % 3), minutes: 10 + i })),
        [{ nodes: ["n1", "n2"], cpu: 2, endsIn: 30 }],
      );
    expect(run(make()).result).toEqual(run(make()).result);
  });

  it("does not modify the input snapshot", () => {
    const snap = cluster(
      [node("n1", { cpu: 4, gres: { "gpu:a100": 2 } }), node("n2", { cpu: 2 })],
      [job(1, { cpu: 2, gres: { gpu: 1 } }), job(2, { cpu: 8, nodeNum: 1 }), job(3, { cpu: 1, minutes: 5 }), job(4, { exclusive: true })],
      [{ nodes: ["n2"], cpu: 1, endsIn: 10 }],
    );
    const before = structuredClone(snap);
    run(snap);
    expect(snap).toEqual(before);
  });
});
