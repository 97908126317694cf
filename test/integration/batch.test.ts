// Batch jobs end to end on real local clusters (`crane up`): cbatch, crun, cqueue, ccancel and cinfo run as
// separate processes against a real ctld and craneds, and the jobs really run under their supervisors.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryMissingReason, finished, processGone, startCluster, submit, waitFor, type JobJson, type TestCluster } from "../harness/cluster";

const skip = !!binaryMissingReason();

/** A job script that records the pid of its long-running child, so the test can check the child is gone. */
function sleeperScript(pidFile: string, seconds: number): string {
  return `sleep ${seconds} & echo $! > ${pidFile}; wait`;
}

async function readPid(file: string): Promise<number> {
  await waitFor(`${file} to be written`, () => fs.existsSync(file) && fs.readFileSync(file, "utf8").trim() !== "");
  return Number(fs.readFileSync(file, "utf8").trim());
}

describe.skipIf(skip)("batch jobs on a one-node cluster", () => {
  let cluster: TestCluster;
  let work: string;
  let node: string;

  beforeAll(async () => {
    cluster = await startCluster();
    node = cluster.nodes[0]!;
    work = path.join(cluster.dir, "work");
    fs.mkdirSync(work);
  });

  afterAll(async () => {
    if (cluster) await cluster.stop();
  });

  const out = (name: string) => fs.readFileSync(path.join(work, name), "utf8");

  it("runs a --wrap job, writes Crane-<id>.out in the submit directory and records Completed", async () => {
    const id = await submit(cluster, ["--wrap", "echo hello from $CRANE_JOB_ID"], work);
    const job = await cluster.waitJob(id, finished);
    expect(job.status).toBe("Completed");
    expect(job.exit_code).toBe(0);
    expect(job.nodes).toEqual([node]);
    expect(out(`Crane-${id}.out`)).toBe(`hello from ${id}\n`);
  });

  it("honours #CBATCH directives (-J, -o with %j/%x, -c, --mem) and exports the CRANE_* environment", async () => {
    fs.writeFileSync(
      path.join(work, "env.sh"),
      [
        "#!/bin/sh",
        "#CBATCH -J envjob",
        "#CBATCH -o env-%j-%x.txt",
        "#CBATCH -c 2",
        "#CBATCH --mem 256M",
        "echo id=$CRANE_JOB_ID",
        "echo name=$CRANE_JOB_NAME",
        "echo nodelist=$CRANE_JOB_NODELIST",
        "echo nodes=$CRANE_JOB_NUM_NODES",
        "echo mem=$CRANE_MEM_PER_NODE",
        "echo cpus=$CRANE_CPUS_ON_NODE",
        "echo step=$CRANE_STEP_ID",
        "echo partition=$CRANE_JOB_PARTITION",
        "echo pwd=$(pwd)",
        "",
      ].join("\n"),
    );
    const id = await submit(cluster, ["env.sh"], work);
    const job = await cluster.waitJob(id, finished);
    expect(job.status).toBe("Completed");
    const lines = out(`env-${id}-envjob.txt`).trim().split("\n");
    expect(lines).toEqual([`id=${id}`, "name=envjob", `nodelist=${node}`, "nodes=1", "mem=256M", "cpus=2.00", "step=1", "partition=CPU", `pwd=${work}`]);
    const alloc = (job as unknown as { alloc_per_node: { cpu: number; memory_bytes: number } }).alloc_per_node;
    expect(alloc).toMatchObject({ cpu: 2, memory_bytes: 256 * 1048576 });

    // Options on the command line win over the script's.
    const id2 = await submit(cluster, ["-J", "fromcli", "--mem", "128M", "env.sh"], work);
    expect((await cluster.waitJob(id2, finished)).status).toBe("Completed");
    const text = out(`env-${id2}-fromcli.txt`);
    expect(text).toContain("name=fromcli\n");
    expect(text).toContain("mem=128M\n");
  });

  it("records a failing script as Failed with its exit code", async () => {
    const id = await submit(cluster, ["--wrap", "echo before; exit 3; echo after"], work);
    const job = await cluster.waitJob(id, finished);
    expect(job.status).toBe("Failed");
    expect(job.exit_code).toBe(3);
    expect(job.steps.find((s) => s.step_id === 1)).toMatchObject({ status: "Failed", exit_code: 3 });
    expect(out(`Crane-${id}.out`)).toBe("before\n");
  });

  it("shows a held job as Pending (Held) in cqueue's default table and cancels it", async () => {
    const id = await submit(cluster, ["-H", "-J", "heldjob", "--wrap", "echo should-not-run > held.txt"], work);
    const table = await cluster.run("cqueue", []);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    expect(header!.trim().split(/\s+/)).toEqual([
      "JOBID",
      "PARTITION",
      "NAME",
      "USER",
      "ACCOUNT",
      "STATUS",
      "TYPE",
      "TIME",
      "TIMELIMIT",
      "NODES",
      "NODELIST/REASON",
    ]);
    const row = rows.map((r) => r.trim().split(/\s+/)).find((r) => r[0] === String(id));
    expect(row).toEqual([String(id), "CPU", "heldjob", "root", "Pending", "Batch", "-", "unlimited", "1", "Held"]);

    const c = await cluster.run("ccancel", [String(id)]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`Job ${id} cancelled successfully.`);
    const job = await cluster.waitJob(id, finished, 5_000);
    expect(job.status).toBe("Cancelled");
    expect(job.nodes).toEqual([]);
    expect(fs.existsSync(path.join(work, "held.txt"))).toBe(false);
    // Finished jobs are listed only with -a.
    expect((await cluster.run("cqueue", ["-N"])).stdout).not.toMatch(new RegExp(`^\\s*${id}\\s`, "m"));
  });

  it("cancels a running job quickly and its processes are gone", async () => {
    const id = await submit(cluster, ["--wrap", sleeperScript("cancel.pid", 60)], work);
    await cluster.waitJob(id, (j) => j.status === "Running");
    const pid = await readPid(path.join(work, "cancel.pid"));
    expect(processGone(pid)).toBe(false);
    expect((await cluster.run("ccancel", [String(id)])).code).toBe(0);
    const job = await cluster.waitJob(id, finished, 10_000);
    expect(job.status).toBe("Cancelled");
    await waitFor(`sleep ${pid} to end`, () => processGone(pid), 3_000);
  });

  it("ccancel takes ids separated by spaces as well as by commas", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await submit(cluster, ["-H", "--wrap", "true"], work));
    const [a, b, c] = ids as [number, number, number];
    const r = await cluster.run("ccancel", [String(a), `${b},${c}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Job ${a},${b},${c} cancelled successfully.`);
    for (const id of ids) expect((await cluster.waitJob(id, finished)).status).toBe("Cancelled");
  });

  it("ends a job that runs past -t 0:02 as ExceedTimeLimit within a few seconds", async () => {
    const id = await submit(cluster, ["-t", "0:02", "--wrap", sleeperScript("timeout.pid", 60)], work);
    const pid = await readPid(path.join(work, "timeout.pid"));
    const job = await cluster.waitJob(id, finished, 15_000);
    expect(job.status).toBe("ExceedTimeLimit");
    expect(job.reason).toMatch(/time limit/);
    await waitFor(`sleep ${pid} to end`, () => processGone(pid), 3_000);
  });

  it("runs crun inside a cbatch job as steps 2, 3 of that job, into the batch output, with the step's exit code", async () => {
    fs.writeFileSync(
      path.join(work, "steps.sh"),
      [
        "#!/bin/sh",
        "echo batch-start",
        "crun sh -c 'echo in-step job=$CRANE_JOB_ID step=$CRANE_STEP_ID'",
        "echo rc1=$?",
        "crun sh -c 'echo failing-step; exit 7'",
        "echo rc2=$?",
        "",
      ].join("\n"),
    );
    const id = await submit(cluster, ["-o", "steps-%j.out", "steps.sh"], work);
    const job = await cluster.waitJob(id, finished, 30_000);
    expect(out(`steps-${id}.out`)).toMatch(new RegExp(`^batch-start\\nin-step job=${id} step=2\\nrc1=0\\nfailing-step\\n(.*\\n)*rc2=7\\n$`));
    expect(job.status).toBe("Completed");
    const steps = Object.fromEntries(job.steps.map((s) => [s.step_id, s]));
    expect(steps[1]).toMatchObject({ status: "Completed", exit_code: 0 });
    expect(steps[2]).toMatchObject({ status: "Completed", exit_code: 0, nodes: [node] });
    expect(steps[3]).toMatchObject({ status: "Failed", exit_code: 7 });
  });

  it("crun outside a job streams the output and exits with the task's exit code", async () => {
    const ok = await cluster.run("crun", ["sh", "-c", "echo out-line; echo err-line >&2"]);
    expect(ok).toMatchObject({ code: 0, stdout: "out-line\n" });
    expect(ok.stderr).toContain("err-line\n");
    const bad = await cluster.run("crun", ["sh", "-c", "echo partial; exit 5"]);
    expect(bad.code).toBe(5);
    expect(bad.stdout).toBe("partial\n");
    expect(bad.stderr).toMatch(/exit(ed with)? code 5/);
  });

  it("cinfo shows the partition and the node", async () => {
    const r = await cluster.run("cinfo", []);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split("\n");
    expect(header!.trim().split(/\s+/)).toEqual(["PARTITION", "AVAIL", "NODES", "STATE", "NODELIST"]);
    expect(rows.map((l) => l.trim().split(/\s+/))).toEqual([["CPU*", "up", "1", "idle", node]]);
    const long = await cluster.run("cinfo", ["-l", "-N"]);
    expect(long.stdout.trim().split(/\s+/)).toEqual([node, "CPU", "idle", "0/4", "0/4096M", "-"]);
  });

  it("rejects bad input with clear messages and the documented exit codes, and no daemon dies", async () => {
    const before = await cluster.run("cqueue", ["--json", "-a"]);
    const jobsBefore = (JSON.parse(before.stdout) as { jobs: JobJson[] }).jobs.length;

    const partition = await cluster.run("cbatch", ["-p", "nosuch", "--wrap", "true"], { cwd: work });
    expect(partition.code).toBe(4);
    expect(partition.stderr).toMatch(/^Job allocation failed: .*"nosuch".*known: CPU/m);

    const tooBig = await cluster.run("cbatch", ["-c", "64", "--wrap", "true"], { cwd: work });
    expect(tooBig.code).toBe(4);
    expect(tooBig.stderr).toMatch(/Job allocation failed: .*64 CPUs.* has 4/);
    const tooManyNodes = await cluster.run("cbatch", ["-N", "2", "--wrap", "true"], { cwd: work });
    expect(tooManyNodes.code).toBe(4);
    expect(tooManyNodes.stderr).toMatch(/2 nodes/);

    fs.writeFileSync(path.join(work, "bad.sh"), "#!/bin/sh\n#CBATCH --frobnicate 3\necho x\n");
    const directive = await cluster.run("cbatch", ["bad.sh"], { cwd: work });
    expect(directive.code).toBe(2);
    expect(directive.stderr).toMatch(/^Error: .*frobnicate.*line 2/);
    fs.writeFileSync(path.join(work, "quote.sh"), '#!/bin/sh\n#CBATCH -J "unterminated\necho x\n');
    const quote = await cluster.run("cbatch", ["quote.sh"], { cwd: work });
    expect(quote.code).toBe(2);
    expect(quote.stderr).toMatch(/^Error: .*line 2/);

    const mem = await cluster.run("cbatch", ["--mem", "12X", "--wrap", "true"], { cwd: work });
    expect(mem.code).toBe(2);
    expect(mem.stderr).toMatch(/^Error: .*--mem.*12X/);

    const flag = await cluster.run("cbatch", ["--no-such-flag", "--wrap", "true"], { cwd: work });
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/^Error: .*--no-such-flag/);

    const cancel = await cluster.run("ccancel", []);
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toMatch(/^Error: /);

    // Nothing was queued by the refused submissions (never Pending), and every daemon still serves.
    const after = await cluster.run("cqueue", ["--json", "-a"]);
    expect(after.code).toBe(0);
    expect((JSON.parse(after.stdout) as { jobs: JobJson[] }).jobs.length).toBe(jobsBefore);
    const pids = cluster.pids();
    for (const pid of [pids.ctld, ...Object.values(pids.craneds)]) expect(processGone(pid)).toBe(false);
    const id = await submit(cluster, ["--wrap", "echo still-alive"], work);
    expect((await cluster.waitJob(id, finished)).status).toBe("Completed");
  });

  it("enforces --mem through the job's cgroup: a job allocating far more is killed as OutOfMemory", async () => {
    // The shell itself holds 300 MiB in a variable; 64 MiB is its limit.
    const id = await submit(cluster, ["--mem", "64M", "-o", "oom.out", "--wrap", "a=$(head -c 300M /dev/zero | tr '\\0' x); echo survived ${#a}"], work);
    const job = await cluster.waitJob(id, finished, 30_000);
    expect(fs.readFileSync(path.join(work, "oom.out"), "utf8")).not.toContain("survived");
    expect(job.status).not.toBe("Completed");
    expect(job.exit_code).toBe(137);
    expect(job.status).toBe("OutOfMemory");
  });
});

describe.skipIf(skip)("batch jobs on a two-node cluster", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2 });
  });

  afterAll(async () => {
    if (cluster) await cluster.stop();
  });

  it("allocates both nodes to a -N 2 job and crun -N 2 runs a task on each", async () => {
    fs.writeFileSync(
      path.join(cluster.dir, "two.sh"),
      [
        "#!/bin/sh",
        "#CBATCH -N 2",
        "echo nodelist=$CRANE_JOB_NODELIST nodes=$CRANE_JOB_NUM_NODES",
        "crun -N 2 sh -c 'echo task on node $CRANE_NODEID'",
        "",
      ].join("\n"),
    );
    const id = await submit(cluster, ["two.sh"]);
    const job = await cluster.waitJob(id, finished, 30_000);
    // NODELIST is a host list, as Slurm writes it: host-[1-2], not host-1,host-2.
    const table = await cluster.run("cqueue", ["-a", "-j", String(id)]);
    expect(table.stdout).toContain(`${cluster.nodes[0]!.replace(/-1$/, "")}-[1-2]`);
    expect(job.status).toBe("Completed");
    expect([...job.nodes].sort()).toEqual([...cluster.nodes].sort());
    const lines = fs
      .readFileSync(path.join(cluster.dir, `Crane-${id}.out`), "utf8")
      .trim()
      .split("\n");
    expect(lines[0]).toBe(`nodelist=${job.nodes.join(";")} nodes=2`);
    expect(lines.slice(1).sort()).toEqual(["task on node 0", "task on node 1"]);
    expect(job.steps.find((s) => s.step_id === 2)).toMatchObject({ status: "Completed" });
    expect([...job.steps.find((s) => s.step_id === 2)!.nodes].sort()).toEqual([...cluster.nodes].sort());

    const direct = await cluster.run("crun", ["-N", "2", "sh", "-c", "echo direct $CRANE_NODEID of $CRANE_JOB_NUM_NODES"]);
    expect(direct.code).toBe(0);
    expect(direct.stdout.trim().split("\n").sort()).toEqual(["direct 0 of 2", "direct 1 of 2"]);
  });
});
