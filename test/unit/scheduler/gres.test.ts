import { describe, expect, it } from "vitest";
import { cluster, job, node, run } from "./harness";

// Node GRES keys are concrete: "gpu:a100" for typed devices, "gpu" for untyped ones. A typed request ("gpu:a100")
// needs that type; a bare request ("gpu") is met by the sum of all GPU keys of a node, like Slurm's --gres=gpu:N.
describe("GRES", () => {
  const gpuNodes = () => [
    node("a1", { cpu: 16, partitions: ["GPU"], gres: { "gpu:a100": 4 } }),
    node("h1", { cpu: 16, partitions: ["GPU"], gres: { "gpu:h100": 4 } }),
    node("c1", { cpu: 16, partitions: ["GPU"] }),
  ];

  it("places a typed request only on nodes with that type", () => {
    const r = run(cluster(gpuNodes(), [job(1, { partition: "GPU", gres: { "gpu:h100": 2 } })]));
    expect(r.nodesOf(1)).toEqual(["h1"]);
    expect(r.placed.get(1)!.allocated[0]!.gres).toEqual({ "gpu:h100": 2 });
  });

  it("lets an untyped gpu request use typed GPUs and reports the concrete type charged", () => {
    const r = run(cluster(gpuNodes(), [job(1, { partition: "GPU", gres: { gpu: 3 } })]));
    expect(r.nodesOf(1)).toEqual(["a1"]);
    expect(r.placed.get(1)!.allocated[0]!.gres).toEqual({ "gpu:a100": 3 });
    expect(r.placed.get(1)!.perNode.gres).toEqual({ gpu: 3 });
  });

  it("sums the GPU types of one node for an untyped request", () => {
    const nodes = [node("mix", { cpu: 8, partitions: ["GPU"], gres: { gpu: 1, "gpu:a100": 1, "gpu:h100": 2 } })];
    const r = run(
      cluster(nodes, [
        job(1, { partition: "GPU", gres: { gpu: 3 } }),
        job(2, { partition: "GPU", gres: { gpu: 1 } }),
        job(3, { partition: "GPU", gres: { gpu: 1 } }),
      ]),
    );
    expect(r.placed.get(1)!.allocated[0]!.gres).toEqual({ gpu: 1, "gpu:a100": 1, "gpu:h100": 1 });
    expect(r.placed.get(2)!.allocated[0]!.gres).toEqual({ "gpu:h100": 1 });
    expect(r.reasonOf(3)).toBe("Resource");
  });

  it("meets typed and untyped requests of the same job from what is left after the typed part", () => {
    const nodes = [
      node("n1", { cpu: 8, partitions: ["GPU"], gres: { "gpu:a100": 3 } }),
      node("n2", { cpu: 8, partitions: ["GPU"], gres: { "gpu:a100": 2, "gpu:h100": 2 } }),
    ];
    const r = run(cluster(nodes, [job(1, { partition: "GPU", gres: { "gpu:a100": 2, gpu: 2 } })]));
    expect(r.nodesOf(1)).toEqual(["n2"]);
    expect(r.placed.get(1)!.allocated[0]!.gres).toEqual({ "gpu:a100": 2, "gpu:h100": 2 });
  });

  it("consumes GPUs within a cycle", () => {
    const r = run(cluster(gpuNodes(), [job(1, { partition: "GPU", gres: { "gpu:a100": 4 } }), job(2, { partition: "GPU", gres: { "gpu:a100": 1 } })]));
    expect(r.nodesOf(1)).toEqual(["a1"]);
    expect(r.reasonOf(2)).toBe("Resource");
  });

  it("counts GPUs held by running jobs", () => {
    const r = run(cluster(gpuNodes(), [job(1, { partition: "GPU", gres: { gpu: 4 } })], [{ nodes: ["a1"], gres: { "gpu:a100": 1 } }]));
    expect(r.nodesOf(1)).toEqual(["h1"]);
  });

  it("leaves a job asking for a GPU type no node has pending for Resource", () => {
    const r = run(cluster(gpuNodes(), [job(1, { partition: "GPU", gres: { "gpu:v100": 1 } }), job(2, { partition: "GPU", gres: { fpga: 1 } })]));
    expect(r.reasonOf(1)).toBe("Resource");
    expect(r.reasonOf(2)).toBe("Resource");
  });

  it("keeps CPU-only jobs off nodes they do not fit, and GPU jobs to nodes with GPUs", () => {
    const r = run(cluster(gpuNodes(), [job(1, { partition: "GPU", cpu: 16, gres: { gpu: 1 } }), job(2, { partition: "GPU", cpu: 16 })]));
    expect(r.nodesOf(1)).toEqual(["a1"]);
    expect(r.nodesOf(2)).toEqual(["c1"]);
  });
});
