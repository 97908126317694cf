import { describe, expect, it } from "vitest";
import { cluster, job, node, run } from "./harness";

describe("node list, excludes and exclusive jobs", () => {
  const four = () => [node("n1", { cpu: 2 }), node("n2", { cpu: 4 }), node("n3", { cpu: 4 }), node("n4", { cpu: 8 })];

  it("uses every node of the node list and best-fits the rest", () => {
    const r = run(cluster(four(), [job(1, { cpu: 2, nodeNum: 2, nodelist: ["n4"] })]));
    expect(r.nodesOf(1)).toEqual(["n4", "n1"]);
  });

  it("waits for Resource when a node of the node list is full, even if others are free", () => {
    const r = run(cluster(four(), [job(1, { cpu: 4, nodelist: ["n1"] })]));
    expect(r.reasonOf(1)).toBe("Resource");
  });

  it("reports ReqNodeNotAvail for a node list naming a down, unknown or foreign node, or longer than nodeNum", () => {
    const nodes = [...four(), node("d1", { up: false }), node("g1", { partitions: ["GPU"] })];
    const r = run(
      cluster(nodes, [
        job(1, { nodelist: ["d1"] }),
        job(2, { nodelist: ["ghost"] }),
        job(3, { nodelist: ["g1"] }),
        job(4, { nodelist: ["n1", "n2"], nodeNum: 1 }),
        job(5, { nodelist: ["n2"], excludes: ["n2"] }),
      ]),
    );
    for (const id of [1, 2, 3, 4, 5]) expect(r.reasonOf(id)).toBe("ReqNodeNotAvail");
  });

  it("holds back a job whose node-list node is reserved, even when other nodes are free", () => {
    const nodes = [node("n1"), node("n2"), node("n3"), node("n4")];
    const snap = cluster(nodes, [], [{ nodes: ["n2"], cpu: 4, endsIn: 60 }]);
    snap.pending = [
      job(1, { cpu: 4, nodeNum: 2, nodelist: ["n1", "n2"], priority: 300 }),
      job(2, { cpu: 2, nodeNum: 2, nodelist: ["n1"], minutes: 120, priority: 200 }),
      job(3, { cpu: 2, nodeNum: 2, nodelist: ["n1"], minutes: 30, priority: 100 }),
    ];
    const r = run(snap);
    expect(r.reservationOf(1)?.nodes).toEqual(["n1", "n2"]);
    expect(r.reasonOf(2)).toBe("Priority");
    expect(r.nodesOf(3)).toEqual(["n1", "n3"]);
  });

  it("never uses an excluded node", () => {
    const r = run(cluster(four(), [job(1, { cpu: 2, excludes: ["n1"] }), job(2, { cpu: 2, nodeNum: 2, excludes: ["n2", "n3"] })]));
    expect(r.nodesOf(1)).toEqual(["n2"]);
    expect(r.nodesOf(2)).toEqual(["n1", "n4"]);
  });

  it("reports NodeNotAvailable when the excludes leave too few nodes", () => {
    const r = run(cluster(four(), [job(1, { nodeNum: 3, excludes: ["n1", "n2"] })]));
    expect(r.reasonOf(1)).toBe("NodeNotAvailable");
  });

  it("gives an exclusive job an idle node and keeps everyone else off it", () => {
    const r = run(cluster([node("n1"), node("n2")], [job(1, { exclusive: true }), job(2), job(3), job(4, { exclusive: true })]));
    expect(r.nodesOf(1)).toEqual(["n1"]);
    expect(r.placed.get(1)!.exclusive).toBe(true);
    expect(r.nodesOf(2)).toEqual(["n2"]);
    expect(r.nodesOf(3)).toEqual(["n2"]);
    expect(r.reasonOf(4)).toBe("Resource");
  });

  it("does not give an exclusive job a node where anything runs", () => {
    const r = run(cluster([node("n1"), node("n2")], [job(1, { exclusive: true, nodeNum: 2 })], [{ nodes: ["n2"], cpu: 0.5 }]));
    expect(r.reasonOf(1)).toBe("Resource");
  });

  it("keeps jobs off a node held by a running exclusive job, until it ends", () => {
    const snap = cluster([node("n1")], [job(1, { cpu: 1 })], [{ nodes: ["n1"], cpu: 1, exclusive: true, endsIn: 30 }]);
    const r = run(snap);
    expect(r.reasonOf(1)).toBe("Resource");
    expect(r.reservationOf(1)?.startTime).toBe(snap.now + 30 * 60_000);
  });

  it("treats a node marked busy without a listed allocation as not idle", () => {
    const n = node("n1");
    n.exclusiveBusy = true;
    const r = run(cluster([n], [job(1, { exclusive: true }), job(2)]));
    expect(r.reasonOf(1)).toBe("Resource");
    expect(r.nodesOf(2)).toEqual(["n1"]);
  });
});
