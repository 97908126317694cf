// Dependencies, --begin and --parsable against a real one-node cluster, including a dependency kept across a kill -9
// of ctld.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryMissingReason, finished, processGone, restartCtld, startCluster, waitFor, type JobJson, type TestCluster } from "../harness/cluster";

const skip = !!binaryMissingReason();

describe.skipIf(skip)("dependencies and begin times on a one-node cluster", () => {
  let cluster: TestCluster;
  let work: string;
  const cbatch = async (...args: string[]) => {
    const r = await cluster.run("cbatch", ["--parsable", ...args], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+\n$/); // --parsable: the bare id
    return Number(r.stdout);
  };
  const show = async (id: number) => {
    const r = await cluster.run("ccontrol", ["show", "job", String(id), "--json"]);
    return (
      JSON.parse(r.stdout) as { jobs: (JobJson & { dependency: string; begin_time: string | null; start_time: string | null; end_time: string | null })[] }
    ).jobs[0]!;
  };

  beforeAll(async () => {
    cluster = await startCluster();
    work = path.join(cluster.dir, "work");
    fs.mkdirSync(work);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it("afterok, afternotok and --kill-on-invalid-dep follow how the job they name ended", async () => {
    const failing = await cbatch("--wrap", "sleep 2; exit 3");
    const onFailure = await cbatch("-d", `afternotok:${failing}`, "--wrap", "true");
    const onSuccess = await cbatch("-d", `afterok:${failing}`, "--wrap", "true");
    const killed = await cbatch("-d", `afterok:${failing}`, "--kill-on-invalid-dep", "--wrap", "true");
    expect(await show(onSuccess)).toMatchObject({ status: "Pending", pending_reason: "Dependency", dependency: `afterok:${failing}` });

    expect((await cluster.waitJob(onFailure, finished, 30_000)).status).toBe("Completed");
    expect((await cluster.waitJob(killed, finished, 30_000)).status).toBe("Cancelled");
    await cluster.waitJob(onSuccess, (j) => j.pending_reason === "DependencyNeverSatisfied", 10_000);
    const text = await cluster.run("cqueue", ["-j", String(onSuccess)]);
    expect(text.stdout).toContain("DependencyNeverSatisfied");
    await cluster.run("ccancel", [String(onSuccess)]);
  });

  it("a dependency survives a kill -9 of ctld", async () => {
    const first = await cbatch("--wrap", "sleep 3");
    const second = await cbatch("-d", `afterany:${first}`, "--wrap", "true");
    const old = cluster.pids().ctld;
    process.kill(old, "SIGKILL");
    await waitFor("ctld to die", () => processGone(old), 20_000);
    restartCtld(cluster);
    const done = await cluster.waitJob(second, finished, 60_000);
    expect(done.status).toBe("Completed");
    const firstDone = await show(first);
    expect(Date.parse((await show(second)).start_time!)).toBeGreaterThanOrEqual(Date.parse(firstDone.end_time!));
  }, 90_000);

  it("--begin holds a job back as BeginTime until its time", async () => {
    const id = await cbatch("--begin", "now+3", "--wrap", "true");
    const pending = await show(id);
    expect(pending).toMatchObject({ status: "Pending", pending_reason: "BeginTime" });
    const begin = Date.parse(pending.begin_time!);
    const done = await cluster.waitJob(id, finished, 30_000);
    expect(done.status).toBe("Completed");
    expect(Date.parse((await show(id)).start_time!)).toBeGreaterThanOrEqual(begin);
  });

  it("refuses a dependency on a job that does not exist, and one it cannot read, saying why", async () => {
    const missing = await cluster.run("cbatch", ["-d", "afterok:987654", "--wrap", "true"], { cwd: work });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("job 987654 does not exist");
    const bad = await cluster.run("cbatch", ["-d", "before:1", "--wrap", "true"], { cwd: work });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown kind "before"');
  });
});

describe.skipIf(skip)("job arrays and step shares on a one-node cluster", () => {
  let cluster: TestCluster;
  let work: string;
  const jobs = async () => {
    const r = await cluster.run("cqueue", ["--json", "-a"]);
    return (JSON.parse(r.stdout) as { jobs: (JobJson & { array: { array_job_id: number; task_id: number } | null })[] }).jobs;
  };

  beforeAll(async () => {
    cluster = await startCluster();
    work = path.join(cluster.dir, "work");
    fs.mkdirSync(work);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it("runs a task per id with its CRANE_ARRAY_* variables and %A_%a output, at most %N at once", async () => {
    const script = 'echo "$CRANE_ARRAY_JOB_ID $CRANE_ARRAY_TASK_ID $CRANE_ARRAY_TASK_COUNT $CRANE_ARRAY_TASK_MIN $CRANE_ARRAY_TASK_MAX"; sleep 1';
    const r = await cluster.run("cbatch", ["--parsable", "--array=2-8:2%2", "-o", "out-%A_%a.txt", "--wrap", script], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    const arrayId = Number(r.stdout);
    const queue = await cluster.run("cqueue", [], { cwd: work });
    expect(queue.stdout).toMatch(new RegExp(`^${arrayId}_\\[\\d[\\d,-]*\\]\\s`, "m")); // pending tasks folded into one row
    let mostRunning = 0;
    await waitFor(
      "every task to end",
      async () => {
        const mine = (await jobs()).filter((j) => j.array?.array_job_id === arrayId);
        mostRunning = Math.max(mostRunning, mine.filter((j) => !["Pending", ...["Completed", "Failed", "Cancelled"]].includes(j.status)).length);
        return mine.length === 4 && mine.every(finished);
      },
      60_000,
    );
    expect(mostRunning).toBeLessThanOrEqual(2);
    for (const task of [2, 4, 6, 8]) {
      expect(fs.readFileSync(path.join(work, `out-${arrayId}_${task}.txt`), "utf8").trim()).toBe(`${arrayId} ${task} 4 2 8`);
    }
  }, 90_000);

  it("a crun step that names its CPUs waits for its share beside a sibling, unless --overlap", async () => {
    const script = (overlap: string) => [`crun -c 2 sh -c 'sleep 2; echo first-done' &`, "sleep 0.5", `crun -c 1 ${overlap} echo second`, "wait"].join("\n");
    const run = async (overlap: string) => {
      const out = path.join(work, `shares${overlap}.txt`);
      const r = await cluster.run("cbatch", ["--parsable", "-c", "2", "-o", out, "--wrap", script(overlap)], { cwd: work });
      expect(r.code, r.stderr).toBe(0);
      const done = await cluster.waitJob(Number(r.stdout), finished, 60_000);
      expect(done.status).toBe("Completed");
      return fs.readFileSync(out, "utf8").trim().split("\n");
    };
    expect(await run("")).toEqual(["first-done", "second"]);
    expect(await run("--overlap")).toEqual(["second", "first-done"]);
  }, 90_000);

  it("ccancel ARRAY_TASK cancels one task, ccancel ARRAY all that are left", async () => {
    const r = await cluster.run("cbatch", ["--parsable", "-a", "1-3", "-H", "--wrap", "true"], { cwd: work });
    const arrayId = Number(r.stdout);
    const one = await cluster.run("ccancel", [`${arrayId}_2`]);
    expect(one.code, one.stderr).toBe(0);
    const tasks = async () => new Map((await jobs()).filter((j) => j.array?.array_job_id === arrayId).map((j) => [j.array!.task_id, j.status]));
    expect(await tasks()).toEqual(
      new Map([
        [1, "Pending"],
        [2, "Cancelled"],
        [3, "Pending"],
      ]),
    );
    const missing = await cluster.run("ccancel", [`${arrayId}_9`]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain(`array task ${arrayId}_9 does not exist`);
    expect((await cluster.run("ccancel", [String(arrayId)])).code).toBe(0);
    expect([...(await tasks()).values()]).toEqual(["Cancelled", "Cancelled", "Cancelled"]);
  });
});
