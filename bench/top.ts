// What `crane top` costs ctld with a big queue: ctld's CPU (utime + stime from /proc/<pid>/stat) over a window
// with nobody watching, with N WatchCluster streams open (what N open `crane top` views do), and, for comparison,
// with N clients re-running a full QueryJobsInfo every second (what a polling view would do).
// Starts its own local cluster (dist/crane up, one node, no containers; needs root) in a temp directory, submits
// the jobs (1 CPU, `sleep`, so a few run and finish all the time: the watchers get a steady trickle of changes),
// prints one JSON object, then takes the cluster down.
//   npm run bench:top -- [--jobs 100000] [--watchers 4] [--seconds 30] [--cpus 4] [--sleep 5] [--no-poll]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClusterEvent, JobSpec, JobType, QueryJobsRequest } from "../src/core/generated/crane/crane";
import { type CraneCtldClient } from "../src/core/generated/crane/services";
import { ctldClient, unary } from "../src/core/rpc";
import { watchRequest } from "../src/core/cli/watch-client";
import { freePortBase } from "../test/harness/cluster";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const CRANE = path.join(__dirname, "..", "dist", "crane");
const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds a process has used so far (user + system). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14, 15)
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** ctld's CPU use over `seconds` while `during` runs, as a percentage of one core. */
async function measure(pid: number, seconds: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu = cpuSeconds(pid) - c0;
  return Number(((cpu / ((performance.now() - t0) / 1000)) * 100).toFixed(2));
}

interface Watcher {
  events: number;
  jobs: number;
  bytes: number;
  syncedAfterMs: number;
  close(): void;
}

function openWatcher(port: number): Promise<Watcher> {
  const client = ctldClient("127.0.0.1", port);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const w: Watcher = {
      events: 0,
      jobs: 0,
      bytes: 0,
      syncedAfterMs: 0,
      close() {
        call.cancel();
        client.close();
      },
    };
    const call = client.watchCluster(watchRequest({ jobs: true, nodes: true }));
    call.on("data", (ev: ClusterEvent) => {
      w.events++;
      w.jobs += ev.jobs.length;
      w.bytes += ClusterEvent.encode(ev).finish().length;
      if (ev.synced) {
        w.syncedAfterMs = Math.round(performance.now() - t0);
        resolve(w);
      }
    });
    call.on("error", (e: { code?: number }) => (e.code === 1 ? undefined : reject(e)));
  });
}

async function main() {
  const total = arg("jobs", 100_000);
  const watchers = arg("watchers", 4);
  const seconds = arg("seconds", 30);
  const cpus = arg("cpus", 4);
  const sleepSeconds = arg("sleep", 5);
  const poll = !process.argv.includes("--no-poll");
  if (!fs.existsSync(CRANE)) throw new Error("dist/crane is missing: run `npm run build` first");

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-bench-top-"));
  const port = await freePortBase(4);
  const env = { ...process.env, CRANE_CONFIG: path.join(dir, "config.yaml") };
  const up = spawnSync(CRANE, ["up", "--dir", dir, "--port", String(port), "--nodes", "1", "--cpus", String(cpus), "--memory", "8G", "--no-containers"], {
    env,
    encoding: "utf8",
  });
  if (up.status !== 0) throw new Error(`crane up failed: ${up.stdout}${up.stderr}`);
  const ctldPid = (JSON.parse(fs.readFileSync(path.join(dir, "pids.json"), "utf8")) as { ctld: number }).ctld;
  const client: CraneCtldClient = ctldClient("127.0.0.1", port);
  try {
    // The queue: batches of 10,000 per request.
    const job = JobSpec.fromPartial({
      type: JobType.Batch,
      name: "bench",
      uid: 0,
      gid: 0,
      cpusPerTask: 1,
      nodeNum: 1,
      ntasks: 1,
      memPerNode: 64 << 20,
      shScript: `#!/bin/sh\nsleep ${sleepSeconds}\n`,
      cwd: dir,
      io: { outputPattern: "/dev/null", errorPattern: "", inputPattern: "", openModeAppend: false },
    });
    const s0 = performance.now();
    for (let left = total; left > 0; left -= 10_000) {
      const r = await unary(client, client.submitBatchJobs, { job, count: Math.min(10_000, left) }, 600_000);
      if (r.reasons.length) throw new Error(`submission refused: ${r.reasons[0]}`);
    }
    const submitSeconds = (performance.now() - s0) / 1000;
    await sleep(3000); // let the last commits and a scheduling cycle pass

    const idle = await measure(ctldPid, seconds);

    const w0 = performance.now();
    const open = await Promise.all(Array.from({ length: watchers }, () => openWatcher(port)));
    const snapshotMs = Math.round(performance.now() - w0);
    const snapshot = {
      ms: snapshotMs,
      eventsPerWatcher: open[0]!.events,
      jobsPerWatcher: open[0]!.jobs,
      mbPerWatcher: Number((open[0]!.bytes / 1e6).toFixed(1)),
    };
    const before = open.map((w) => ({ events: w.events, jobs: w.jobs, bytes: w.bytes }));
    await sleep(2000);
    const watching = await measure(ctldPid, seconds);
    const deltas = {
      eventsPerWatcher: open[0]!.events - before[0]!.events,
      jobsPerWatcher: open[0]!.jobs - before[0]!.jobs,
      kbPerWatcher: Number(((open[0]!.bytes - before[0]!.bytes) / 1e3).toFixed(1)),
    };
    for (const w of open) w.close();
    const rssWithWatchers = rssMb(ctldPid);
    await sleep(2000);

    let polling: number | undefined;
    let pollQueries = 0;
    if (poll) {
      let stop = false;
      const q = QueryJobsRequest.fromPartial({ limit: total + 1000 });
      const loops = Array.from({ length: watchers }, async () => {
        const c = ctldClient("127.0.0.1", port);
        while (!stop) {
          const t = performance.now();
          await unary(c, c.queryJobsInfo, q, 120_000);
          pollQueries++;
          await sleep(Math.max(0, 1000 - (performance.now() - t)));
        }
        c.close();
      });
      polling = await measure(ctldPid, seconds);
      stop = true;
      await Promise.all(loops);
    }

    console.log(
      JSON.stringify({
        jobs: total,
        watchers,
        seconds,
        cpusOnNode: cpus,
        jobSleepSeconds: sleepSeconds,
        submitSeconds: Number(submitSeconds.toFixed(1)),
        ctldCpuPercent: { idle, watching, ...(polling !== undefined ? { pollingEverySecond: polling } : {}) },
        snapshot,
        deltas,
        pollQueriesCompleted: poll ? pollQueries : undefined,
        ctldRssMb: rssWithWatchers,
      }),
    );
  } finally {
    client.close();
    spawnSync(CRANE, ["down", "--dir", dir, "--purge"], { env, encoding: "utf8", timeout: 120_000 });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench:top failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
