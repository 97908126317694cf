import { describe, expect, it } from "vitest";
import { feasibleEver } from "../../../src/modes/ctld/scheduler";
import { GiB, job, node } from "./harness";

describe("feasibleEver (submit-time check)", () => {
  const nodes = [
    node("c1", { cpu: 8, memGiB: 32 }),
    node("c2", { cpu: 4, memGiB: 64 }),
    node("g1", { cpu: 16, memGiB: 128, partitions: ["GPU"], gres: { "gpu:a100": 4 } }),
    node("g2", { cpu: 16, memGiB: 128, partitions: ["GPU"], gres: { "gpu:h100": 2 }, up: false }),
  ];

  it("accepts a request some nodes could satisfy, counting nodes that are down", () => {
    expect(feasibleEver(job(1, { cpu: 8 }), nodes)).toBeNull();
    expect(feasibleEver(job(1, { partition: "GPU", gres: { "gpu:h100": 2 } }), nodes)).toBeNull();
    expect(feasibleEver(job(1, { partition: "GPU", gres: { gpu: 4 } }), nodes)).toBeNull();
    expect(feasibleEver(job(1, { partition: "GPU", nodeNum: 2, gres: { gpu: 2 } }), nodes)).toBeNull();
  });

  it("names the CPU limit", () => {
    expect(feasibleEver(job(1, { cpu: 64 }), nodes)).toBe('requested 64 CPUs per node but the largest node in partition "CPU" has 8');
  });

  it("names the memory limit", () => {
    expect(feasibleEver(job(1, { memGiB: 100 }), nodes)).toBe('requested 100 GiB of memory per node but the largest node in partition "CPU" has 64 GiB');
  });

  it("names a missing GRES type and the ones that exist", () => {
    expect(feasibleEver(job(1, { partition: "GPU", gres: { "gpu:v100": 1 } }), nodes)).toBe(
      'requested gpu:v100:1 per node but no node in partition "GPU" has gpu:v100 (it has: gpu:a100, gpu:h100)',
    );
    expect(feasibleEver(job(1, { gres: { gpu: 1 } }), nodes)).toBe('requested gpu:1 per node but no node in partition "CPU" has gpu (it has no GRES)');
    expect(feasibleEver(job(1, { partition: "GPU", gres: { gpu: 5 } }), nodes)).toBe(
      'requested gpu:5 per node but the most any node in partition "GPU" has is 4',
    );
  });

  it("says when resources exist only on different nodes", () => {
    expect(feasibleEver(job(1, { cpu: 8, memGiB: 64 }), nodes)).toBe(
      'requested 1 node with 8 CPUs, 64 GiB of memory each but no node in partition "CPU" has all of that',
    );
    expect(feasibleEver(job(1, { partition: "GPU", nodeNum: 2, gres: { gpu: 3 } }), nodes)).toBe(
      'requested 2 nodes with 1 CPU, 1 GiB of memory, gpu:3 each but only 1 node in partition "GPU" has all of that',
    );
  });

  it("names the node count limit, with excludes", () => {
    expect(feasibleEver(job(1, { nodeNum: 3 }), nodes)).toBe('requested 3 nodes but partition "CPU" has only 2');
    expect(feasibleEver(job(1, { nodeNum: 2, excludes: ["c2"] }), nodes)).toBe(
      'requested 2 nodes but partition "CPU" has only 1 once 1 excluded node is left out',
    );
  });

  it("names an unknown partition and lists the known ones", () => {
    expect(feasibleEver(job(1, { partition: "BIG" }), nodes)).toBe('partition "BIG" does not exist (known: CPU, GPU)');
  });

  it("checks the node list", () => {
    expect(feasibleEver(job(1, { nodelist: ["zz"] }), nodes)).toBe('node "zz" in the node list does not exist');
    expect(feasibleEver(job(1, { nodelist: ["g1"] }), nodes)).toBe('node "g1" in the node list is not in partition "CPU" (it is in: GPU)');
    expect(feasibleEver(job(1, { nodelist: ["c1", "c2"] }), nodes)).toBe("the node list names 2 nodes but the job requests only 1");
    expect(feasibleEver(job(1, { nodelist: ["c1"], excludes: ["c1"] }), nodes)).toBe('node "c1" is both in the node list and excluded');
    expect(feasibleEver(job(1, { cpu: 6, nodelist: ["c2"] }), nodes)).toBe(
      'node "c2" in the node list has 4 CPUs, 64 GiB of memory, less than the 6 CPUs, 1 GiB of memory requested per node',
    );
  });

  it("refuses nonsense sizes", () => {
    expect(feasibleEver(job(1, { cpu: 0 }), nodes)).toBe("requested 0 CPUs per node; a job needs more than 0 CPUs");
    expect(feasibleEver(job(1, { nodeNum: 0 }), nodes)).toBe("requested 0 nodes; a job needs at least 1 node");
    expect(feasibleEver({ ...job(1), perNode: { cpu: 1, memoryBytes: 1.5 * GiB, gres: {} } }, nodes)).toBeNull();
  });
});
