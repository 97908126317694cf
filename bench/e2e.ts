// End-to-end throughput of ctld: a real ctld (dist/crane, its own process) with many simulated nodes (one child
// process on one port, src/modes/simnodes: no step runs a process, each ends after its `sleep N`), fed short batch
// jobs through the public gRPC API. Measures jobs scheduled, started and ended per second as ctld drives them
// (ExecuteStep received, Running report acknowledged, FreeJob received), submit latency per SubmitBatchJobs call,
// and ctld's peak RSS and CPU. Prints human lines, then one JSON object.
//   npm run bench:e2e      env: E2E_NODES (1000), E2E_JOBS (100000), E2E_RUN_S (0.05: each job's sleep),
//     E2E_BATCH (100 jobs per SubmitBatchJobs), E2E_CLIENTS (2 concurrent submitters), E2E_SCHED_MS (20),
//     E2E_CPU_PROF=DIR (run ctld as `node --cpu-prof dist/crane.cjs` and print its top functions),
//     E2E_SIM_CPU_PROF=DIR (profile the simulator), E2E_VERIFY=0 (skip the final count of job states), E2E_KEEP=1 (keep the temp dir with ctld.log)
import { execSync, fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { loadOrCreateClusterKey } from "../src/core/auth/cluster-key";
import { JobSpec, JobStatus, JobType } from "../src/core/generated/crane/crane";
import { ctldClient, unary } from "../src/core/rpc";
import { daemonEnv } from "../src/core/daemon-env";
import type { Counter, SimStats } from "../src/modes/simnodes";
import { freePortBase } from "../test/harness/cluster";

const env = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const NODES = env("E2E_NODES", 1000);
const JOBS = env("E2E_JOBS", 100_000);
const RUN_S = env("E2E_RUN_S", 0.05);
const BATCH = env("E2E_BATCH", 100);
const CLIENTS = env("E2E_CLIENTS", 2);
const SCHED_MS = env("E2E_SCHED_MS", 20);
const PROF_DIR = process.env.E2E_CPU_PROF ? path.resolve(process.env.E2E_CPU_PROF) : "";
const SIM_PROF_DIR = process.env.E2E_SIM_CPU_PROF ? path.resolve(process.env.E2E_SIM_CPU_PROF) : "";
const AIM_PER_S = 2000;
const AIM_RSS_MB = 500;
/** No job ended for this long: the run is stuck, not slow. */
const STALL_MS = 120_000;

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 0) => Number(x.toFixed(digits));

let ctld: ChildProcess | undefined;
let sim: ChildProcess | undefined;
let dir = "";
let cleaningUp = false;

/** Stops what this bench started (ctld gets time to exit cleanly, so that a CPU profile is written). */
async function cleanup(): Promise<void> {
  cleaningUp = true;
  const stop = async (child: ChildProcess | undefined, graceMs: number) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(kill);
  };
  await Promise.all([stop(sim, 5000), stop(ctld, 60_000)]);
  if (dir && !process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  else if (dir) console.log(`kept ${dir}`);
  dir = "";
}

/** VmRSS / VmHWM of a process, in MB. */
function memoryMB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

const CLK_TCK = Number(execSync("getconf CLK_TCK", { encoding: "utf8" }).trim()) || 100;
/** User + system CPU seconds a process has used. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd (state) on
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function writeConfig(ctldPort: number, simPort: number): string {
  const width = Math.max(4, String(NODES).length);
  const config = {
    ClusterName: `e2e-${ctldPort}`,
    ControlMachine: "127.0.0.1",
    CraneCtldListenAddr: "127.0.0.1",
    CraneCtldListenPort: ctldPort,
    CraneCtldForInternalListenPort: ctldPort + 1,
    CranedListenAddr: "127.0.0.1",
    CranedListenPort: simPort,
    CraneBaseDir: dir,
    ClusterKeyFile: path.join(dir, "cluster.key"),
    // A loaded ctld answers pings late; the bench measures throughput, not failure detection.
    CraneCtld: { ScheduleIntervalMs: SCHED_MS, CranedTimeout: 60 },
    Craned: { PingInterval: 5 },
    // Every node at the simulator's one address and port: ctld dials them all there.
    Nodes: Array.from({ length: NODES }, (_, i) => ({
      name: `sim${String(i + 1).padStart(width, "0")}`,
      address: "127.0.0.1",
      port: simPort,
      cpu: 4,
      memory: "8G",
    })),
    Partitions: [{ name: "CPU", nodes: "ALL" }],
    Container: { Enabled: false },
  };
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

function startCtld(configFile: string): ChildProcess {
  const out = fs.openSync(path.join(dir, "ctld.log"), "a");
  let cmd = [path.join(DIST, "crane")];
  if (PROF_DIR) {
    // The bundle under the pinned Node (node:sqlite needs 24), so that --cpu-prof applies to ctld's own code.
    const pinned = path.join(ROOT, "node_modules", "node", "bin", "node");
    fs.mkdirSync(PROF_DIR, { recursive: true });
    cmd = [fs.existsSync(pinned) ? pinned : process.execPath, "--cpu-prof", `--cpu-prof-dir=${PROF_DIR}`, path.join(DIST, "crane.cjs")];
  }
  // As deployed: crane up and the systemd units start ctld with the daemons' NODE_OPTIONS.
  const child = spawn(cmd[0]!, [...cmd.slice(1), "ctld", "-C", configFile], { stdio: ["ignore", out, out], env: daemonEnv() });
  fs.closeSync(out);
  return child;
}

/** The simulator in a child process under the same tsx loader, reporting its counters over IPC. */
function startSim(configFile: string, port: number, onStats: (at: number, s: SimStats) => void): ChildProcess {
  const child = fork(path.join(ROOT, "src", "modes", "simnodes", "child.ts"), ["--config", configFile, "--port", String(port)], {
    execArgv: [...process.execArgv, ...(SIM_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${SIM_PROF_DIR}`] : [])],
    stdio: ["ignore", "inherit", fs.openSync(path.join(dir, "simnodes.log"), "a"), "ipc"],
  });
  child.on("message", (m: { type: string; at: number; stats: SimStats }) => m.type === "stats" && onStats(m.at, m.stats));
  return child;
}

/** Self time per function of a V8 .cpuprofile, largest first. */
function topFunctions(file: string, n = 20): { fn: string; ms: number; pct: number }[] {
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } };
  const prof = JSON.parse(fs.readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${path.basename(f.url) || ""}:${f.lineNumber + 1}`;
    const us = prof.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, us]) => ({ fn, ms: round(us / 1000), pct: round((100 * us) / total, 1) }));
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(DIST, "crane"))) {
    console.log("dist/crane is missing: building it (npm run build)");
    if (spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" }).status !== 0) throw new Error("npm run build failed");
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-e2e-"));
  const port = await freePortBase(3);
  const configFile = writeConfig(port, port + 2);
  loadOrCreateClusterKey(path.join(dir, "cluster.key")); // before ctld and the simulator, which both derive node keys
  ctld = startCtld(configFile);
  let stats: SimStats | undefined;
  const samples: { at: number; ended: number }[] = [];
  sim = startSim(configFile, port + 2, (at, s) => {
    stats = s;
    samples.push({ at, ended: s.freed.count });
  });
  const died = (what: string, child: ChildProcess, log: string) =>
    child.once("exit", (code, signal) => {
      if (cleaningUp) return;
      console.error(`${what} exited (${signal ?? code}) during the run; last lines of ${log}:\n${tail(path.join(dir, log))}`);
      void cleanup().finally(() => process.exit(1));
    });
  died("ctld", ctld, "ctld.log");
  died("the simulated nodes", sim, "simnodes.log");

  const client = ctldClient("127.0.0.1", port);
  const upAt = Date.now();
  for (;;) {
    try {
      const info = await unary(client, client.queryClusterInfo, { partitions: [], nodes: [], states: [] }, 5000);
      if (info.nodes.filter((n) => n.state !== "down").length >= NODES) break;
    } catch {
      // ctld not listening yet
    }
    if (Date.now() - upAt > 120_000) throw new Error(`the ${NODES} simulated nodes did not come up within 120 s (registered: ${stats?.registered ?? 0})`);
    await sleep(200);
  }
  console.log(
    `e2e: ${NODES} simulated nodes up in ${((Date.now() - upAt) / 1000).toFixed(1)} s; submitting ${JOBS} jobs of sleep ${RUN_S} s in batches of ${BATCH} from ${CLIENTS} clients; ctld with NODE_OPTIONS="${daemonEnv().NODE_OPTIONS}"`,
  );

  // ---- progress, sampled from ctld's /proc entry and the simulator's counters
  const ctldPid = ctld.pid!;
  const simPid = sim.pid!;
  const cpuAtStart = cpuSeconds(ctldPid);
  const simCpuAtStart = cpuSeconds(simPid);
  let submitted = 0;
  let maxBacklog = 0;
  let lastEnded = 0;
  let lastProgressAt = Date.now();
  let lastPrintAt = 0;
  const t0 = Date.now();
  const progress = setInterval(() => {
    const s = stats;
    if (!s) return;
    maxBacklog = Math.max(maxBacklog, submitted - s.executed.count);
    if (s.freed.count !== lastEnded) [lastEnded, lastProgressAt] = [s.freed.count, Date.now()];
    const t = (Date.now() - t0) / 1000;
    if (Date.now() - lastPrintAt >= 5000) {
      lastPrintAt = Date.now();
      console.log(
        `  ${t.toFixed(0).padStart(4)} s  submitted ${submitted}  scheduled ${s.executed.count}  started ${s.started.count}  ended ${s.freed.count}  running ${s.running}  ctld RSS ${memoryMB(ctldPid, "VmRSS").toFixed(0)} MB`,
      );
    }
  }, 100);

  // ---- submit
  const job = JobSpec.fromPartial({
    type: JobType.Batch,
    name: "e2e",
    uid: 0,
    partition: "CPU",
    nodeNum: 1,
    ntasks: 1,
    ntasksPerNode: 1,
    cpusPerTask: 1,
    memPerNode: 256 * 1024 * 1024,
    timeLimitSeconds: 3600,
    cwd: "/tmp",
    shScript: `#!/bin/sh\nsleep ${RUN_S}\n`,
  });
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const c = ctldClient("127.0.0.1", port);
      while (next < JOBS) {
        const count = Math.min(BATCH, JOBS - next);
        next += count;
        const started = performance.now();
        const r = await unary(c, c.submitBatchJobs, { job, count }, 120_000);
        latencies.push(performance.now() - started);
        if (r.codes.length) throw new Error(`submission refused: ${r.reasons[0]}`);
        submitted += r.jobIds.length;
      }
      c.close();
    }),
  );
  const submitSeconds = (Date.now() - t0) / 1000;

  // ---- wait until ctld ended every job (it frees a job on its node, then records it finished)
  while (!stats || stats.freed.count < JOBS) {
    if (Date.now() - lastProgressAt > STALL_MS) throw new Error(`no job ended for ${STALL_MS / 1000} s (ended ${stats?.freed.count ?? 0} of ${JOBS})`);
    await sleep(100);
  }
  clearInterval(progress);
  const s: SimStats = stats;
  const wallSeconds = (s.freed.last - t0) / 1000;
  const ctldCpu = cpuSeconds(ctldPid) - cpuAtStart;
  const simCpu = cpuSeconds(simPid) - simCpuAtStart;
  const loadAverage = round(os.loadavg()[1]!, 2); // other work on this machine competes for the same cores
  const peakRss = memoryMB(ctldPid, "VmHWM");
  const perSecond = (c: Counter) => round(c.count / ((c.last - t0) / 1000));
  // The steady rate, between 10% and 90% of the jobs ended (leaves out the first placements and the tail).
  const at = (frac: number) => samples.find((x) => x.ended >= frac * JOBS)!;
  const [p10, p90] = [at(0.1), at(0.9)];
  const steadyEnded = p90.at > p10.at ? round((p90.ended - p10.ended) / ((p90.at - p10.at) / 1000)) : 0;

  // ---- ctld's own account: nothing left active, and how the jobs ended
  let finalStates: Record<string, number> | undefined;
  if (process.env.E2E_VERIFY !== "0") {
    const q = { jobIds: [], states: [], users: [], partitions: [], names: [], types: [], nodes: [] };
    const active = await unary(client, client.queryJobsInfo, { ...q, includeCompleted: false, limit: 1 }, 60_000);
    if (active.jobs.length) throw new Error(`ctld still has active jobs, e.g. ${active.jobs[0]!.jobId} (${JobStatus[active.jobs[0]!.status]})`);
    const all = await unary(client, client.queryJobsInfo, { ...q, includeCompleted: true, limit: JOBS }, 300_000);
    finalStates = {};
    for (const j of all.jobs) finalStates[JobStatus[j.status]] = (finalStates[JobStatus[j.status]] ?? 0) + 1;
  }
  client.close();
  await cleanup();

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!, 1);
  const ended = perSecond(s.freed);
  const result = {
    nodes: NODES,
    jobs: JOBS,
    runSeconds: RUN_S,
    batch: BATCH,
    clients: CLIENTS,
    scheduleIntervalMs: SCHED_MS,
    wallSeconds: round(wallSeconds, 1),
    submit: { seconds: round(submitSeconds, 1), jobsPerSecond: round(JOBS / submitSeconds), latencyMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) } },
    perSecond: { scheduled: perSecond(s.executed), started: perSecond(s.started), ended, endedSteady: steadyEnded },
    maxBacklog,
    ctld: { peakRssMB: round(peakRss), cpuSeconds: round(ctldCpu, 1), cpuPercentOfOneCore: round((100 * ctldCpu) / wallSeconds) },
    simulator: { cpuSeconds: round(simCpu, 1), reportRetries: s.reportRetries, reportsDropped: s.reportsDropped, terminated: s.terminated.count },
    finalStates,
    cores: os.availableParallelism(),
    loadAverage5m: loadAverage,
  };
  console.log(
    `submit: ${JOBS} jobs in ${submitSeconds.toFixed(1)} s (${result.submit.jobsPerSecond}/s); per call of ${BATCH}: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms`,
  );
  console.log(
    `jobs per second: scheduled ${result.perSecond.scheduled}, started ${result.perSecond.started}, ended ${ended} (steady 10-90%: ${steadyEnded}); aim >= ${AIM_PER_S}/s: ${(ended / AIM_PER_S).toFixed(2)}x`,
  );
  console.log(`wall: ${wallSeconds.toFixed(1)} s from the first submission to the last job's end; at most ${maxBacklog} submitted jobs not yet scheduled`);
  console.log(
    `ctld: peak RSS ${peakRss.toFixed(0)} MB (aim <= ${AIM_RSS_MB} MB: ${(peakRss / AIM_RSS_MB).toFixed(2)}x of it), CPU ${ctldCpu.toFixed(1)} s = ${result.ctld.cpuPercentOfOneCore}% of one core`,
  );
  console.log(`simulator: CPU ${simCpu.toFixed(1)} s; machine: ${result.cores} cores, load average (5 min) ${loadAverage}`);
  if (finalStates)
    console.log(
      `final states: ${Object.entries(finalStates)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
  if (PROF_DIR) {
    const newest = fs
      .readdirSync(PROF_DIR)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => path.join(PROF_DIR, f))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
    if (newest) {
      console.log(`ctld's top functions by self time (${newest}):`);
      for (const f of topFunctions(newest)) console.log(`  ${String(f.pct).padStart(5)}%  ${String(f.ms).padStart(7)} ms  ${f.fn}`);
    }
  }
  console.log(JSON.stringify(result));
}

process.on("SIGINT", () => {
  if (cleaningUp) return;
  console.error("interrupted: stopping ctld and the simulated nodes");
  void cleanup().finally(() => process.exit(130));
});
main().catch(async (e: Error) => {
  if (cleaningUp) return; // interrupted: the calls in flight fail as ctld stops
  console.error(`bench:e2e failed: ${e.message}`);
  if (dir) console.error(`last lines of ctld.log:\n${tail(path.join(dir, "ctld.log"))}`);
  await cleanup();
  process.exit(1);
});
