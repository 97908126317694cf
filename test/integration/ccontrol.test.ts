// ccontrol and calloc against a real one-node cluster: hold and release, updates of pending and running jobs, drain
// of a node (kept across a ctld restart), `show`, and what an unprivileged user may not do.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUnixUser, runAs, type UnixUser } from "../harness/attacker";
import {
  binaryMissingReason,
  DIST,
  finished,
  jobIdOf,
  processGone,
  restartCtld,
  startCluster,
  submit,
  waitFor,
  type JobJson,
  type TestCluster,
} from "../harness/cluster";

const skip = !!binaryMissingReason();

describe.skipIf(skip)("ccontrol and calloc on a one-node cluster", () => {
  let cluster: TestCluster;
  let user: UnixUser;
  let work: string;
  const env = () => ({ CRANE_CONFIG: cluster.configFile, PATH: `${DIST}:/usr/bin:/bin` });
  const ccontrol = (...args: string[]) => cluster.run("ccontrol", args);
  const job = async (id: number): Promise<JobJson & { held: boolean; time_limit_seconds: number; priority: number }> => {
    const r = await ccontrol("show", "job", String(id), "--json");
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { jobs: (JobJson & { held: boolean; time_limit_seconds: number; priority: number })[] }).jobs[0]!;
  };
  const nodeState = async () => {
    const r = await cluster.run("cinfo", ["--json"]);
    return (JSON.parse(r.stdout) as { nodes: { state: string; reason: string }[] }).nodes[0]!;
  };

  beforeAll(async () => {
    cluster = await startCluster();
    user = createUnixUser("cranectl");
    work = path.join(cluster.dir, "work");
    fs.mkdirSync(work, { mode: 0o1777 });
    fs.chmodSync(work, 0o1777);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    user?.cleanup();
  });

  it("a job submitted held is released and then runs; releasing a finished job says why not", async () => {
    const id = await submit(cluster, ["-H", "--wrap", "true"], work);
    expect(await job(id)).toMatchObject({ status: "Pending", pending_reason: "Held", held: true });
    const text = await ccontrol("show", "job", String(id));
    expect(text.stdout).toMatch(new RegExp(`^JobId=${id} `));
    expect(text.stdout).toContain("Held=yes");
    expect(text.stdout).toContain("Reason=Held");

    const released = await ccontrol("release", String(id));
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout.trim()).toBe(`Job ${id} released.`);
    const done = await cluster.waitJob(id, finished, 30_000);
    expect(done.status).toBe("Completed");

    // Releasing a finished job says why not, with exit code 4.
    const again = await ccontrol("release", String(id));
    expect(again.code).toBe(4);
    expect(again.stderr).toContain(`Failed to change job ${id}: job does not exist or has already finished.`);
  });

  it("a drained node takes no new job, finishes the running one, keeps its drain across a ctld restart, and resumes", async () => {
    const running = await submit(cluster, ["--wrap", "sleep 3"], work);
    await cluster.waitJob(running, (j) => j.status === "Running", 30_000);
    const node = cluster.nodes[0]!;
    const drain = await ccontrol("update", "node", node, "State=drain", "Reason=disk swap");
    expect(drain.code, drain.stderr).toBe(0);
    expect(await nodeState()).toMatchObject({ state: "drng", reason: "disk swap" });

    const waiting = await submit(cluster, ["--wrap", "true"], work);
    expect((await cluster.waitJob(running, finished, 30_000)).status).toBe("Completed");
    expect(await nodeState()).toMatchObject({ state: "drain" });
    expect((await job(waiting)).status).toBe("Pending");
    const reasons = await cluster.run("cinfo", ["-R"]);
    expect(reasons.stdout).toContain("disk swap");

    // Meanwhile the pending job is changed: a shorter time limit (by its owner), a priority (by root, an admin).
    const upd = await ccontrol("update", `JobId=${waiting}`, "TimeLimit=5:00", "Priority=4242");
    expect(upd.code, upd.stderr).toBe(0);
    expect(await job(waiting)).toMatchObject({ time_limit_seconds: 300, priority: 4242 });
    expect((await ccontrol("hold", String(waiting))).code).toBe(0);
    expect(await job(waiting)).toMatchObject({ held: true, pending_reason: "Held" });

    const old = cluster.pids().ctld;
    process.kill(old, "SIGKILL");
    await waitFor("ctld to die", () => processGone(old), 20_000);
    restartCtld(cluster);
    await cluster.waitJob(waiting, (j) => j.status === "Pending", 30_000);
    await waitFor("the node to register again", async () => (await nodeState()).state !== "down", 30_000);
    expect(await nodeState()).toMatchObject({ state: "drain", reason: "disk swap" });
    expect(await job(waiting)).toMatchObject({ time_limit_seconds: 300, priority: 4242 });

    expect(await job(waiting)).toMatchObject({ held: true });
    const resume = await ccontrol("update", `NodeName=${node}`, "State=resume");
    expect(resume.code, resume.stderr).toBe(0);
    // Still held: a resumed node does not start it.
    expect((await cluster.run("ccontrol", ["release", String(waiting)])).code).toBe(0);
    expect((await cluster.waitJob(waiting, finished, 30_000)).status).toBe("Completed");
  }, 120_000);

  it("refuses what the caller may not do, and bad input, with the reason", async () => {
    const own = await runAs(user, ["cbatch", "-H", "-t", "10", "--wrap", "true"], { env: env(), cwd: work });
    expect(own.code, own.stderr).toBe(0);
    const id = jobIdOf({ code: own.code, stdout: own.stdout, stderr: own.stderr });
    const rootsJob = await submit(cluster, ["-H", "--wrap", "true"], work);

    const as = (...args: string[]) => runAs(user, ["ccontrol", ...args], { env: env() });
    const raise = await as("update", "job", String(id), "TimeLimit=20");
    expect(raise.code).toBe(4);
    expect(raise.stderr).toContain("only an administrator may raise a time limit");
    const lower = await as("update", "job", String(id), "TimeLimit=5");
    expect(lower.code, lower.stderr).toBe(0);
    expect((await as("update", "job", String(id), "Priority=9")).stderr).toContain("only an administrator may set a job's priority");
    expect((await as("hold", String(rootsJob))).stderr).toContain("belongs to another user");
    const drain = await as("update", "node", cluster.nodes[0]!, "State=drain", "Reason=mine");
    expect(drain.code).toBe(4);
    expect(drain.stderr).toContain("only an administrator may drain or resume a node");
    expect((await nodeState()).state).not.toMatch(/drain|drng/);

    const badKey = await ccontrol("update", "job", String(id), "Colour=red");
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('unknown key "Colour"');
    const badPartition = await ccontrol("update", "job", String(id), "Partition=nope");
    expect(badPartition.code).toBe(4);
    expect(badPartition.stderr).toContain('partition "nope" does not exist');
    expect((await ccontrol("update", "node", cluster.nodes[0]!, "State=drain")).stderr).toContain("a drain needs a reason");
    expect((await ccontrol("show", "widget")).stderr).toContain('cannot show "widget"');

    for (const j of [id, rootsJob]) await cluster.run("ccancel", [String(j)]);
  });

  it("calloc runs a command here inside a new allocation, crun adds steps to it, and the allocation ends with it", async () => {
    const r = await cluster.run("calloc", ["-c", "1", "sh", "-c", 'echo "id=$CRANE_JOB_ID nodes=$CRANE_JOB_NODELIST"; crun echo from-step; exit 3'], {
      cwd: work,
    });
    expect(r.code, r.stderr).toBe(3);
    const id = Number(/id=(\d+)/.exec(r.stdout)?.[1]);
    expect(r.stdout).toContain(`nodes=${cluster.nodes[0]}`);
    expect(r.stdout).toContain("from-step");
    expect(r.stderr).toContain(`Granted job allocation ${id}`);
    const ended = await cluster.waitJob(id, finished, 30_000);
    expect(ended.steps.map((s) => s.step_id)).toContain(2); // the crun step ran in the allocation
  });

  it("show node and show partition print their fields", async () => {
    const node = await ccontrol("show", "node");
    expect(node.stdout).toMatch(new RegExp(`^NodeName=${cluster.nodes[0]} State=`));
    expect(node.stdout).toContain("CPUTot=");
    const part = await ccontrol("show", "partition");
    expect(part.stdout).toMatch(/^PartitionName=\S+ State=UP Default=YES/);
    expect((await ccontrol("show", "node", "no-such-node")).code).toBe(4);
  });
});
