// The node and its container runtime: containerd killed with SIGKILL and started again while a container step runs
// (runc's shim keeps the container, so the step must stay Running, end with its own exit code and keep all of its
// output), and the housekeeping that removes what no job owns.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectCri, destroyPodSandbox, listPodSandboxes, runPodSandbox } from "../../src/core/cri";
import { cgroupDirs, createJobCgroup, jobCgroupPath } from "../../src/core/cgroup";
import { finished, processGone, restartCraned, startCluster, waitFor, type TestCluster } from "../harness/cluster";
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

  it("a craned that starts removes the pods, cgroups and old logs of jobs nobody runs any more", async () => {
    const node = c.nodes[0]!;
    const cluster = `local-${c.port}`;
    const cri = connectCri({ runtimeEndpoint: ctrd.socket, timeoutMs: 10_000 });
    const leftover = { "crane.cluster": cluster, "crane.node": node, "crane.job": "9999" };
    const foreign = { "crane.cluster": "another-cluster", "crane.node": node, "crane.job": "9999" };
    for (const labels of [leftover, foreign]) {
      await runPodSandbox(cri, { metadata: { name: `gc-${labels["crane.cluster"]}`, uid: labels["crane.cluster"], namespace: "crane", attempt: 0 }, labels });
    }
    createJobCgroup(cluster, node, 9999, { cpu: 1, memoryBytes: 0 });
    const oldLog = path.join(c.dir, "craned", node, "logs", "9998");
    fs.mkdirSync(oldLog, { recursive: true });
    fs.utimesSync(oldLog, new Date(Date.now() - 30 * 86_400_000), new Date(Date.now() - 30 * 86_400_000));
    const recentLog = path.join(c.dir, "craned", node, "logs", "9997");
    fs.mkdirSync(recentLog, { recursive: true });

    const craned = c.pids().craneds[node]!;
    process.kill(craned, "SIGKILL");
    await waitFor("craned to die", () => processGone(craned), 5_000);
    restartCraned(c, node);
    await waitFor("the leftover pod to go", async () => (await listPodSandboxes(cri, { labels: leftover })).length === 0, 20_000);
    expect(await listPodSandboxes(cri, { labels: foreign })).toHaveLength(1); // another cluster's: not ours to remove
    expect(cgroupDirs(jobCgroupPath(cluster, node, 9999)).filter((d) => fs.existsSync(d))).toEqual([]);
    expect(fs.existsSync(oldLog)).toBe(false);
    expect(fs.existsSync(recentLog)).toBe(true);
    for (const p of await listPodSandboxes(cri, { labels: foreign })) await destroyPodSandbox(cri, p.id);
    cri.close();
  });
});
