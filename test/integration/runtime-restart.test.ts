// containerd killed with SIGKILL and started again while a container step runs: runc's shim keeps the container,
// so the step must stay Running, end with its own exit code and keep all of its output.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, startCluster, type TestCluster } from "../harness/cluster";
import { type ContainerdHarness, startContainerd } from "../harness/containerd";

describe("a container runtime restart is weather, not death", () => {
  let ctrd: ContainerdHarness;
  let c: TestCluster;

  beforeAll(async () => {
    ctrd = await startContainerd();
    c = await startCluster({ runtimeEndpoint: ctrd.socket });
  });

  afterAll(async () => {
    await c?.stop();
    await ctrd?.stop();
  });

  it("a container that kept running through a containerd SIGKILL stays Running and keeps its output", async () => {
    const run = await c.run("ccon", ["run", "-d", "busybox", "sh", "-c", "echo before; sleep 4; echo after; exit 5"]);
    expect(run.code, run.stderr).toBe(0);
    const id = run.stdout.trim();
    const jobId = Number(id.split(".")[0]);
    await c.waitJob(jobId, (j) => j.steps.some((s) => s.step_id === 1 && s.status === "Running"), 30_000);

    const before = ctrd.pid;
    await ctrd.restart("SIGKILL");
    expect(ctrd.pid).not.toBe(before);
    const during = await c.waitJob(jobId, () => true);
    expect(during.status).toBe("Running");

    const job = await c.waitJob(jobId, finished, 30_000);
    expect(job.steps.find((s) => s.step_id === 1)).toMatchObject({ status: "Failed", exit_code: 5 });
    const logs = await c.run("ccon", ["logs", id]);
    expect(logs.stdout.split("\n").filter(Boolean)).toEqual(["before", "after"]);
  });
});
