// The accounting history end to end: jobs run on a real local cluster, their cgroup usage travels with the final
// step report to ctld, and `cacct` (as root and as another Unix user) reads it back through QueryJobHistory.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUnixUser, runAs, type UnixUser } from "../harness/attacker";
import { binaryMissingReason, DIST, finished, jobIdOf, processGone, restartCtld, startCluster, submit, waitFor, type TestCluster } from "../harness/cluster";

const skip = !!binaryMissingReason();
const MiB = 1024 * 1024;

interface HistoryJson {
  job_id: number;
  user: string;
  state: string;
  exit_code: number;
  signal: number;
  nodes: string[];
  node_list: string;
  start_time: string | null;
  end_time: string | null;
  elapsed_seconds: number;
  max_rss_bytes: number;
  cpu_time_usec: number;
}

describe.skipIf(skip)("cacct on a one-node cluster", () => {
  let cluster: TestCluster;
  let user: UnixUser;
  let busy: number;
  let killed: number;
  let usersJob: number;
  const env = () => ({ CRANE_CONFIG: cluster.configFile, PATH: `${DIST}:/usr/bin:/bin` });

  const cacct = async (args: string[]) => {
    const r = await cluster.run("cacct", args);
    if (r.code !== 0) throw new Error(`cacct ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const history = async (args: string[]): Promise<HistoryJson[]> => (JSON.parse(await cacct(["--json", ...args])) as { jobs: HistoryJson[] }).jobs;
  const idsAs = async (who: UnixUser, args: string[] = []) => {
    const r = await runAs(who, ["cacct", "--json", ...args], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { jobs: HistoryJson[] }).jobs.map((j) => j.job_id);
  };

  beforeAll(async () => {
    cluster = await startCluster();
    user = createUnixUser("craneacct");
    const work = path.join(cluster.dir, "work");
    fs.mkdirSync(work);
    // dd holds a 64 MiB buffer that /dev/zero fills; the loop burns CPU in the shell.
    const burn = "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done";
    busy = await submit(cluster, ["--mem", "512M", "--wrap", burn], work);
    killed = await submit(cluster, ["--wrap", "kill -9 $$"], work);
    await cluster.waitJob(busy, finished, 60_000);
    await cluster.waitJob(killed, finished, 60_000);
    const own = await runAs(user, ["cbatch", "--wrap", "true"], { env: env() });
    usersJob = jobIdOf({ code: own.code, stdout: own.stdout, stderr: own.stderr });
    await cluster.waitJob(usersJob, finished, 60_000);
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    user?.cleanup();
  });

  it("shows a finished job with its peak memory, CPU time, nodes, times and exit code", async () => {
    const [job] = await history(["-j", String(busy)]);
    expect(job).toMatchObject({ job_id: busy, user: "root", state: "Completed", exit_code: 0, signal: 0, nodes: cluster.nodes });
    expect(job!.max_rss_bytes).toBeGreaterThanOrEqual(50 * MiB);
    expect(job!.cpu_time_usec).toBeGreaterThan(0);
    expect(Date.parse(job!.end_time!)).toBeGreaterThanOrEqual(Date.parse(job!.start_time!));

    const table = await cacct(["-j", String(busy)]);
    const [header, row] = table.split("\n");
    expect(header!.split(/\s+/)).toEqual([
      "JOBID",
      "JOBNAME",
      "PARTITION",
      "ACCOUNT",
      "ALLOCCPUS",
      "STATE",
      "EXITCODE",
      "START",
      "END",
      "ELAPSED",
      "NODELIST",
      "MAXRSS",
      "CPUTIME",
    ]);
    expect(row).toMatch(new RegExp(`^${busy} .* Completed +0:0 .* ${cluster.nodes[0]} +\\d+\\.\\dM +\\d\\d:\\d\\d:\\d\\d\\.\\d{3}$`));
  });

  it("gives a killed job's signal as ExitCode CODE:SIGNAL", async () => {
    const [job] = await history(["-j", String(killed)]);
    expect(job).toMatchObject({ state: "Failed", exit_code: 0, signal: 9 });
    expect(await cacct(["-j", String(killed), "-N", "-o", "%j|%t|%x"])).toBe(`${killed}|Failed|0:9\n`);
  });

  it("filters by state, user, job id and time window", async () => {
    const ids = async (args: string[]) => (await history(args)).map((j) => j.job_id);
    expect(await ids(["-s", "failed"])).toEqual([killed]);
    expect(await ids(["-s", "completed", "-u", "root"])).toEqual([busy]);
    expect(await ids(["-u", user.name])).toEqual([usersJob]);
    expect(await ids(["-j", `${busy},${killed}`])).toEqual(expect.arrayContaining([busy, killed]));
    expect(await ids(["-E", "1h~"])).toEqual(expect.arrayContaining([busy, killed, usersJob]));
    const [busyJob] = await history(["-j", String(busy)]);
    const beforeAll = new Date(Date.parse(busyJob!.start_time!) - 60_000).toISOString();
    expect(await ids(["-E", `~${beforeAll}`])).toEqual([]);
    expect(await ids(["-S", `${beforeAll}~`, "-m", "1"])).toHaveLength(1);
  });

  it("refuses bad input with the documented exit codes", async () => {
    expect((await cluster.run("cacct", ["-m", "0"])).code).toBe(2);
    expect((await cluster.run("cacct", ["-s", "bogus"])).stderr).toContain("unknown state: bogus");
    expect((await cluster.run("cacct", ["-E", "yesterday~"])).code).toBe(2);
    const badFormat = await cluster.run("cacct", ["-o", "%j %Z"]);
    expect(badFormat.code).toBe(5);
    expect(badFormat.stderr).toContain("invalid format specifier: Z");
  });

  it("shows another user only their own jobs unless CraneCtld.PrivateData is off", async () => {
    expect(await idsAs(user)).toEqual([usersJob]);
    expect(await idsAs(user, ["-j", String(busy)])).toEqual([]);
    expect(await idsAs(user, ["-u", "root"])).toEqual([]);

    const config = YAML.parse(fs.readFileSync(cluster.configFile, "utf8")) as { CraneCtld: Record<string, unknown> };
    config.CraneCtld.PrivateData = false;
    fs.writeFileSync(cluster.configFile, YAML.stringify(config));
    const old = cluster.pids().ctld;
    process.kill(old, "SIGTERM");
    await waitFor("ctld to stop", () => processGone(old), 20_000);
    restartCtld(cluster);
    await waitFor("ctld to answer", async () => (await cluster.run("cacct", ["-m", "1"])).code === 0, 20_000);
    expect(await idsAs(user, ["-j", String(busy)])).toEqual([busy]);
  });
});
