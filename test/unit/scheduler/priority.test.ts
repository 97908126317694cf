import { describe, expect, it } from "vitest";
import { cluster, job, node, NOW, run } from "./harness";

describe("priority order", () => {
  it("gives a contested node to the higher-priority job", () => {
    const r = run(cluster([node("n1")], [job(1, { cpu: 4, priority: 10 }), job(2, { cpu: 4, priority: 20 })]));
    expect(r.nodesOf(2)).toEqual(["n1"]);
    expect(r.reasonOf(1)).toBe("Resource");
  });

  it("breaks priority ties by submit time, then by job id", () => {
    const jobs = [job(3, { cpu: 4, submitTime: NOW - 10 }), job(2, { cpu: 4, submitTime: NOW - 20 }), job(1, { cpu: 4, submitTime: NOW - 20 })];
    const r = run(cluster([node("n1"), node("n2")], jobs));
    expect(r.nodesOf(1)).toEqual(["n1"]);
    expect(r.nodesOf(2)).toEqual(["n2"]);
    expect(r.reasonOf(3)).toBe("Resource");
  });

  it("reports a held job as Held and lets the next job have its resources", () => {
    const r = run(cluster([node("n1")], [job(1, { cpu: 4, priority: 50, held: true }), job(2, { cpu: 4, priority: 1 })]));
    expect(r.reasonOf(1)).toBe("Held");
    expect(r.nodesOf(2)).toEqual(["n1"]);
    expect(r.placed.get(2)!.backfilled).toBe(false);
  });

  it("never uses a node that is down", () => {
    const r = run(cluster([node("n1", { up: false, cpu: 64 }), node("n2")], [job(1, { cpu: 2 }), job(2, { cpu: 8 })]));
    expect(r.nodesOf(1)).toEqual(["n2"]);
    expect(r.reasonOf(2)).toBe("Resource");
  });

  it("reports PartitionDown when the partition has no node up, or no node at all", () => {
    const nodes = [node("g1", { partitions: ["GPU"], up: false }), node("c1")];
    const r = run(cluster(nodes, [job(1, { partition: "GPU" }), job(2, { partition: "nope" }), job(3)]));
    expect(r.reasonOf(1)).toBe("PartitionDown");
    expect(r.reasonOf(2)).toBe("PartitionDown");
    expect(r.nodesOf(3)).toEqual(["c1"]);
  });

  it("reports NodeNotAvailable when fewer nodes are up than the job needs", () => {
    const nodes = [node("n1"), node("n2", { up: false }), node("n3")];
    const r = run(cluster(nodes, [job(1, { nodeNum: 3 }), job(2, { nodeNum: 2 })]));
    expect(r.reasonOf(1)).toBe("NodeNotAvailable");
    expect(r.nodesOf(2)?.slice().sort()).toEqual(["n1", "n3"]);
  });

  it("uses nodes shared by two partitions for both", () => {
    const nodes = [node("s1", { partitions: ["CPU", "GPU"], cpu: 4 })];
    const r = run(
      cluster(nodes, [job(1, { cpu: 3, priority: 2 }), job(2, { partition: "GPU", cpu: 1, priority: 1 }), job(3, { partition: "GPU", cpu: 1, priority: 0 })]),
    );
    expect(r.nodesOf(1)).toEqual(["s1"]);
    expect(r.nodesOf(2)).toEqual(["s1"]);
    expect(r.reasonOf(3)).toBe("Resource");
  });
});
