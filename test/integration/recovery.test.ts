// Daemon failures on real local clusters: ctld and craned killed with SIGKILL and restarted by hand (as an init
// system would), and a node that dies for good. Jobs must neither be lost nor left running unaccounted for.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  binaryMissingReason,
  finished,
  nodeRuntimeDir,
  processGone,
  restartCraned,
  restartCtld,
  startCluster,
  submit,
  waitFor,
  type TestCluster,
} from "../harness/cluster";
import { kill9, pidIn } from "../harness/processes";

const skip = !!binaryMissingReason();

/** The shim of a step's first task: it lives as long as the task and holds its exit status. */
function shimPid(cluster: TestCluster, node: string, jobId: number, stepId: number): number {
  return pidIn(path.join(nodeRuntimeDir(cluster, node), "steps", `${jobId}.${stepId}`, "shim-0.pid"));
}

/** The node's one supervisor, which hosts all its steps. */
function nodeSupervisorPid(cluster: TestCluster, node: string): number {
  return pidIn(path.join(cluster.dir, "craned", node, "supervisor.pid"));
}

function stepFile(cluster: TestCluster, node: string, jobId: number, name: string): string {
  return path.join(nodeRuntimeDir(cluster, node), "steps", `${jobId}.1`, name);
}

/** Waits until the node dropped every trace of the job's steps (FreeJob ran there). */
async function waitFreedOnNode(cluster: TestCluster, node: string, jobId: number): Promise<void> {
  const dir = path.join(nodeRuntimeDir(cluster, node), "steps");
  await waitFor(`job ${jobId} to be freed on ${node}`, () => !fs.readdirSync(dir).some((d) => d.startsWith(`${jobId}.`)), 10_000);
}

async function cinfoNodes(cluster: TestCluster): Promise<Record<string, { state: string; reason: string }>> {
  const r = await cluster.run("cinfo", ["--json"]);
  expect(r.code).toBe(0);
  const info = JSON.parse(r.stdout) as { nodes: { name: string; state: string; reason: string }[] };
  return Object.fromEntries(info.nodes.map((n) => [n.name, { state: n.state, reason: n.reason }]));
}

describe.skipIf(skip)("ctld killed with SIGKILL and restarted", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    if (cluster) await cluster.stop();
  });

  it("keeps running and pending jobs, records the running one's completion, and never reuses a job id", async () => {
    const running = await submit(cluster, ["-o", "running.out", "--wrap", "sleep 4; echo done"]);
    const held = await submit(cluster, ["-H", "--wrap", "echo held"]);
    await cluster.waitJob(running, (j) => j.status === "Running");

    await kill9(cluster.pids().ctld);
    const down = await cluster.run("cqueue", []);
    expect(down.code).toBe(3);
    expect(fs.existsSync(path.join(cluster.dir, "running.out")) && fs.readFileSync(path.join(cluster.dir, "running.out"), "utf8")).not.toBe("done\n");
    restartCtld(cluster);

    // The job was started by the old ctld, finishes under the new one and is recorded with its output.
    const job = await cluster.waitJob(running, finished, 30_000);
    expect(job).toMatchObject({ status: "Completed", exit_code: 0 });
    expect(job.steps.find((s) => s.step_id === 1)).toMatchObject({ status: "Completed" });
    expect(fs.readFileSync(path.join(cluster.dir, "running.out"), "utf8")).toBe("done\n");
    await waitFreedOnNode(cluster, cluster.nodes[0]!, running);

    const pending = await cluster.waitJob(held, () => true);
    expect(pending).toMatchObject({ status: "Pending", pending_reason: "Held" });
    const next = await submit(cluster, ["--wrap", "echo after-restart"]);
    expect(next).toBeGreaterThan(Math.max(running, held));
    expect((await cluster.waitJob(next, finished, 30_000)).status).toBe("Completed");
    expect(fs.readFileSync(path.join(cluster.dir, `Crane-${next}.out`), "utf8")).toBe("after-restart\n");

    expect((await cluster.run("ccancel", [String(held)])).code).toBe(0);
    expect((await cluster.waitJob(held, finished)).status).toBe("Cancelled");
  });
});

describe.skipIf(skip)("craned killed with SIGKILL and restarted", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    if (cluster) await cluster.stop();
  });

  it("leaves the running step alone and reports its completion once back", async () => {
    const node = cluster.nodes[0]!;
    const id = await submit(cluster, ["-o", "survivor.out", "--wrap", "sleep 2; echo done"]);
    await cluster.waitJob(id, (j) => j.status === "Running");
    const shim = shimPid(cluster, node, id, 1);
    const supervisor = nodeSupervisorPid(cluster, node);

    await kill9(cluster.pids().craneds[node]!);
    expect(processGone(shim)).toBe(false);
    // The step finishes while its node daemon is away: its shim saves the exit status, the supervisor the result.
    await waitFor(
      "the job's output",
      () => fs.existsSync(path.join(cluster.dir, "survivor.out")) && fs.readFileSync(path.join(cluster.dir, "survivor.out"), "utf8") === "done\n",
    );
    await waitFor("the result to be saved", () => fs.existsSync(stepFile(cluster, node, id, "result.json")));
    expect(fs.readFileSync(stepFile(cluster, node, id, "task-0.exit"), "utf8").trim()).toBe("0");
    expect(processGone(supervisor)).toBe(false);
    expect((await cluster.waitJob(id, () => true)).status).toBe("Running");

    restartCraned(cluster, node);
    const job = await cluster.waitJob(id, finished, 30_000);
    expect(job).toMatchObject({ status: "Completed", exit_code: 0 });
    await waitFreedOnNode(cluster, node, id);
    expect(nodeSupervisorPid(cluster, node)).toBe(supervisor); // the new craned kept the node's supervisor

    // The restarted craned serves new work.
    const next = await submit(cluster, ["--wrap", "echo again"]);
    expect((await cluster.waitJob(next, finished, 30_000)).status).toBe("Completed");
    expect(fs.readFileSync(path.join(cluster.dir, `Crane-${next}.out`), "utf8")).toBe("again\n");
  });

  it("re-adopts a step that is still running when craned comes back", async () => {
    const node = cluster.nodes[0]!;
    const id = await submit(cluster, ["-o", "adopted.out", "--wrap", "sleep 3; echo done"]);
    await cluster.waitJob(id, (j) => j.status === "Running");
    const shim = shimPid(cluster, node, id, 1);
    await kill9(cluster.pids().craneds[node]!);
    restartCraned(cluster, node);
    const job = await cluster.waitJob(id, finished, 30_000);
    expect(job).toMatchObject({ status: "Completed", exit_code: 0 });
    expect(fs.readFileSync(path.join(cluster.dir, "adopted.out"), "utf8")).toBe("done\n");
    await waitFor("the task's shim to exit", () => processGone(shim), 5_000);
    await waitFreedOnNode(cluster, node, id);
  });

  it("the supervisor and craned both killed: the task runs on, and its exit status reaches ctld", async () => {
    const node = cluster.nodes[0]!;
    const id = await submit(cluster, ["-o", "orphan.out", "--wrap", "sleep 2; echo done; exit 3"]);
    await cluster.waitJob(id, (j) => j.status === "Running");
    const shim = shimPid(cluster, node, id, 1);
    await kill9(nodeSupervisorPid(cluster, node));
    await kill9(cluster.pids().craneds[node]!);
    // Nobody but the shim watches the task now; it holds the exit status.
    await waitFor("the task's shim to save the exit status", () => processGone(shim), 10_000);
    expect(fs.readFileSync(stepFile(cluster, node, id, "task-0.exit"), "utf8").trim()).toBe("3");
    expect(fs.readFileSync(path.join(cluster.dir, "orphan.out"), "utf8")).toBe("done\n");

    restartCraned(cluster, node);
    const job = await cluster.waitJob(id, finished, 30_000);
    expect(job).toMatchObject({ status: "Failed", exit_code: 3 });
    await waitFreedOnNode(cluster, node, id);
  });

  it("a supervisor whose craned is gone ends on SIGTERM once its result is saved; the next one reports it", async () => {
    const node = cluster.nodes[0]!;
    const id = await submit(cluster, ["-o", "orphan2.out", "--wrap", "sleep 1; exit 4"]);
    await cluster.waitJob(id, (j) => j.status === "Running");
    const supervisor = nodeSupervisorPid(cluster, node);
    await kill9(cluster.pids().craneds[node]!);
    // The step ends while craned is away: the supervisor saves the result and keeps trying to report it...
    await waitFor("the supervisor to save the result", () => fs.existsSync(stepFile(cluster, node, id, "result.json")));
    expect(processGone(supervisor)).toBe(false);
    // ...until it is told to stop: then it leaves the result to the file and exits.
    process.kill(supervisor, "SIGTERM");
    await waitFor("the supervisor to exit on SIGTERM", () => processGone(supervisor), 10_000);

    restartCraned(cluster, node);
    const job = await cluster.waitJob(id, finished, 30_000);
    expect(job).toMatchObject({ status: "Failed", exit_code: 4 });
    await waitFreedOnNode(cluster, node, id);
  });

  it("a job sent to a node whose craned is away, before ctld noticed, waits in the queue and runs once it is back", async () => {
    const node = cluster.nodes[0]!;
    await kill9(cluster.pids().craneds[node]!);
    // ctld still counts the node as up (its timeout has not passed): the launch finds nobody listening.
    const id = await submit(cluster, ["-w", node, "-o", "while-away.out", "--wrap", "echo ran"]);
    const requeued = await cluster.waitJob(id, (j) => j.requeue_count > 0 || finished(j), 15_000);
    expect(requeued).toMatchObject({ status: "Pending", requeue_count: 1 });

    restartCraned(cluster, node);
    const job = await cluster.waitJob(id, finished, 30_000);
    expect(job).toMatchObject({ status: "Completed", exit_code: 0 });
    expect(fs.readFileSync(path.join(cluster.dir, "while-away.out"), "utf8")).toBe("ran\n");
  });
});

describe.skipIf(skip)("a node that dies for good", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2, extraArgs: ["--craned-timeout", "3", "--ping-interval", "1"] });
  });

  afterAll(async () => {
    if (cluster) await cluster.stop();
  });

  it("is shown down and fails the job running on it with a reason naming the node", async () => {
    const [victim, survivor] = cluster.nodes as [string, string];
    const id = await submit(cluster, ["-w", victim, "--wrap", "sleep 60"]);
    const other = await submit(cluster, ["-w", survivor, "-o", "other.out", "--wrap", "sleep 5; echo fine"]);
    await cluster.waitJob(id, (j) => j.status === "Running");
    await cluster.waitJob(other, (j) => j.status === "Running");
    const shim = shimPid(cluster, victim, id, 1);

    await kill9(cluster.pids().craneds[victim]!);
    const job = await cluster.waitJob(id, finished, 15_000);
    expect(job.status).toBe("Failed");
    expect(job.reason).toContain(victim);

    const nodes = await cinfoNodes(cluster);
    expect(nodes[victim]!.state).toBe("down");
    expect(nodes[victim]!.reason).toMatch(/heartbeat/);
    const table = await cluster.run("cinfo", []);
    expect(table.stdout).toMatch(new RegExp(`^CPU\\*\\s+up\\s+1\\s+down\\s+${victim}\\s*$`, "m"));

    // The other node is untouched; no new job is placed on the dead one.
    expect((await cluster.waitJob(other, finished, 15_000)).status).toBe("Completed");
    expect(fs.readFileSync(path.join(cluster.dir, "other.out"), "utf8")).toBe("fine\n");
    const next = await submit(cluster, ["--wrap", "echo placed"]);
    expect((await cluster.waitJob(next, finished)).nodes).toEqual([survivor]);

    // When the node comes back it is up again and stops the task of the job that ended without it.
    expect(processGone(shim)).toBe(false);
    restartCraned(cluster, victim);
    await waitFor("the node to come back", async () => (await cinfoNodes(cluster))[victim]!.state === "idle", 15_000);
    await waitFor("the lost job's task to stop", () => processGone(shim), 15_000);
    await waitFreedOnNode(cluster, victim, id);
  });
});
