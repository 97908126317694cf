// crane against Slurm (Debian's slurm-wlm) on the same machine, both given one node that declares 64 CPUs:
//   1. launch throughput: N jobs `true` in one call (`cbatch --repeat N` / `sbatch --array=1-N`), jobs ended per
//      second from the submission until the queue is empty;
//   2. M sequential CLI submissions (`cbatch --wrap true` / `sbatch --wrap true`), submissions per second.
// Aim: crane >= 2x Slurm on launch throughput. Each scheduler runs alone (crane first, then Slurm), in a private
// temp directory with free ports, and is stopped and removed at the end (also on error or Ctrl-C). Slurm gets its
// own munged (own key and socket) and never touches /etc/slurm, /etc/munge or the system daemons. Without
// slurmctld/slurmd/munged the script says so and runs the crane half only. Needs root; installs nothing.
// Prints human-readable lines, then one JSON object (last line).
// "Ended" is seen by polling the queue (squeue, cqueue --json) with VS_SLURM_POLL_MS between polls; beside it,
// recordedSeconds uses the end times the scheduler itself recorded (Slurm's have whole-second resolution).
//   npm run bench:vs-slurm   (env: VS_SLURM_JOBS=1000, VS_SLURM_SEQ=100, VS_SLURM_POLL_MS=200, VS_SLURM_TIMEOUT=600 s)
import { type ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const JOBS = Number(process.env.VS_SLURM_JOBS ?? 1000);
const SEQ = Number(process.env.VS_SLURM_SEQ ?? 100);
const TIMEOUT_MS = Number(process.env.VS_SLURM_TIMEOUT ?? 600) * 1000;
// A cqueue poll is a CLI start (~0.2-0.4 s of CPU): polled back to back it would take CPU from the scheduler it watches.
const POLL_MS = Number(process.env.VS_SLURM_POLL_MS ?? 200);
const CPUS = 64;
const ROOT = path.join(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const SLURM_BINS = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch", "/usr/bin/squeue"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const log = (line: string) => console.log(line);

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end; never rejects (a missing binary is code null with the error in stderr). */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Ran> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", (e) => resolve({ code: null, stdout, stderr: `${stderr}${e.message}`, ms: performance.now() - t0 }));
    child.once("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

function must(r: Ran, what: string): Ran {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
  return r;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, () => s.close(() => resolve(true))); // no host: all addresses, as the daemons bind
  });
}

/** The first of `count` consecutive free TCP ports (crane up takes port..port+2, Slurm two). */
async function freePorts(count: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const base = 20000 + crypto.randomInt(30000);
    const ok = await Promise.all(Array.from({ length: count }, (_, k) => portFree(base + k)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error("no free ports");
}

// What to undo at the end, newest first. A SIGINT/SIGTERM only sets `interrupted`: every wait checks it and throws,
// so the one cleanup path (the finally in main) runs, never a second one racing it. Signals come more than once
// (a terminal's Ctrl-C reaches the whole process group, and tsx relays it too): all are caught, so none kills us
// half-way through cleaning up.
let interrupted: string | undefined;
function checkStop(): void {
  if (interrupted) throw new Error(`interrupted (${interrupted})`);
}
async function pause(ms: number): Promise<void> {
  checkStop();
  await sleep(ms);
  checkStop();
}
const cleanups: { name: string; fn: () => Promise<void> }[] = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length) {
    const c = cleanups.pop()!;
    try {
      await c.fn();
    } catch (e) {
      log(`cleanup ${c.name}: ${(e as Error).message}`);
    }
  }
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (!interrupted) log(`${sig}: stopping the schedulers and removing their directories`);
    interrupted ??= sig;
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await gone;
  clearTimeout(timer);
}

/** Polls `remaining` until it returns 0; resolves with the time that was seen, and what one poll costs. */
async function drain(remaining: () => Promise<number>, what: string): Promise<{ endedAt: number; pollMs: number }> {
  const deadline = Date.now() + TIMEOUT_MS;
  const costs: number[] = [];
  for (;;) {
    const t = performance.now();
    const left = await remaining();
    costs.push(performance.now() - t);
    if (left === 0) return { endedAt: performance.now(), pollMs: round(median(costs)) };
    if (Date.now() > deadline) throw new Error(`${what}: ${left} job(s) still queued after ${TIMEOUT_MS / 1000} s`);
    await pause(POLL_MS);
  }
}

interface Figures {
  launch: {
    jobs: number;
    seconds: number;
    jobsPerSecond: number;
    submitMs: number;
    pollMs: number;
    completed: number;
    recordedSeconds: number;
    recordedJobsPerSecond: number;
  };
  sequential: { submissions: number; seconds: number; submissionsPerSecond: number; medianMs: number; completed: number };
}

/** The two workloads against one scheduler, given how to submit, count its queue, and count its completed jobs. */
async function workloads(s: {
  name: string;
  submitMany: () => Promise<Ran>;
  submitOne: () => Promise<Ran>;
  queued: () => Promise<number>;
  /** End times (ms since the epoch) of the jobs that ended COMPLETED. */
  completed: () => Promise<number[]>;
}): Promise<Figures> {
  const t0 = performance.now();
  const t0Epoch = Date.now();
  const many = must(await s.submitMany(), `${s.name}: submitting ${JOBS} jobs`);
  checkStop();
  const { endedAt, pollMs } = await drain(s.queued, s.name);
  const seconds = (endedAt - t0) / 1000;
  const ends = await s.completed();
  const launchCompleted = ends.length;
  const recorded = (Math.max(...ends) - t0Epoch) / 1000;
  log(
    `${s.name}: ${JOBS} jobs in ${seconds.toFixed(2)} s = ${(JOBS / seconds).toFixed(1)} jobs/s (submit call ${many.ms.toFixed(0)} ms, one poll ${pollMs} ms, ${launchCompleted} completed; by recorded end times ${recorded.toFixed(2)} s = ${(JOBS / recorded).toFixed(1)} jobs/s)`,
  );

  const each: number[] = [];
  for (let i = 0; i < SEQ; i++, checkStop()) each.push(must(await s.submitOne(), `${s.name}: submission ${i + 1}`).ms);
  const seqSeconds = each.reduce((a, b) => a + b, 0) / 1000;
  await drain(s.queued, s.name); // not timed: the next measure (or teardown) starts from an idle scheduler
  const seqCompleted = (await s.completed()).length - launchCompleted;
  log(
    `${s.name}: ${SEQ} sequential submissions in ${seqSeconds.toFixed(2)} s = ${(SEQ / seqSeconds).toFixed(1)}/s (median ${median(each).toFixed(0)} ms, ${seqCompleted} completed)`,
  );
  if (launchCompleted < JOBS || seqCompleted < SEQ) log(`${s.name}: WARNING: not every job ended COMPLETED`);
  return {
    launch: {
      jobs: JOBS,
      seconds: round(seconds, 3),
      jobsPerSecond: round(JOBS / seconds),
      submitMs: round(many.ms),
      pollMs,
      completed: launchCompleted,
      recordedSeconds: round(recorded, 3),
      recordedJobsPerSecond: round(JOBS / recorded),
    },
    sequential: {
      submissions: SEQ,
      seconds: round(seqSeconds, 3),
      submissionsPerSecond: round(SEQ / seqSeconds),
      medianMs: round(median(each)),
      completed: seqCompleted,
    },
  };
}

async function crane(): Promise<Figures> {
  if (!fs.existsSync(path.join(DIST, "crane"))) {
    log("crane: dist/crane missing, running npm run build");
    must(await run("npm", ["run", "build"], { cwd: ROOT }), "npm run build");
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vs-slurm-crane-"));
  const port = await freePorts(3);
  const bin = (name: string) => path.join(DIST, name); // symlinks to the one executable, dispatched on argv[0]
  cleanups.push({
    name: "crane",
    fn: async () => {
      await run(bin("crane"), ["down", "--dir", dir, "--purge"]); // also ends steps still running
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
  log(`crane: private cluster in ${dir} (ports ${port}-${port + 2}), one node with ${CPUS} CPUs`);
  const up = must(await run(bin("crane"), ["up", "--dir", dir, "--port", String(port), "--cpus", String(CPUS), "--no-containers"]), "crane up");
  // The build measured: dist/crane may be rebuilt between runs.
  log(`crane: up in ${(up.ms / 1000).toFixed(1)} s (dist/crane built ${fs.statSync(bin("crane")).mtime.toISOString()})`);
  const env = { ...process.env, CRANE_CONFIG: path.join(dir, "config.yaml") };
  const cli = (name: string, args: string[]) => run(bin(name), args, { env, cwd: dir });
  const jobsOf = async (args: string[]) => {
    const r = must(await cli("cqueue", ["--json", "-m", "1000000", ...args]), "cqueue");
    return (JSON.parse(r.stdout) as { jobs: { status: string; end_time: string | null }[] }).jobs;
  };
  try {
    return await workloads({
      name: "crane",
      submitMany: () => cli("cbatch", ["--repeat", String(JOBS), "--json", "-o", "/dev/null", "--wrap", "true"]),
      submitOne: () => cli("cbatch", ["-o", "/dev/null", "--wrap", "true"]),
      queued: async () => (await jobsOf([])).length,
      completed: async () => (await jobsOf(["-a", "-t", "completed"])).map((j) => Date.parse(j.end_time ?? "")),
    });
  } catch (e) {
    // Point at the daemons' logs: they are removed with the directory at the end.
    if (!interrupted)
      for (const f of ["ctld.log", ...fs.readdirSync(dir).filter((n) => n.startsWith("craned-") && n.endsWith(".log"))]) {
        const text = fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "";
        if (text) log(`--- crane ${f} (last lines)\n${text.trimEnd().split("\n").slice(-15).join("\n")}`);
      }
    throw e;
  }
}

/** Why Slurm cannot run here, or undefined. */
function slurmMissing(): string | undefined {
  const missing = SLURM_BINS.filter((b) => {
    try {
      fs.accessSync(b, fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  return missing.length ? `missing ${missing.join(", ")} (install: apt-get install -y slurm-wlm munge)` : undefined;
}

async function slurm(): Promise<Figures> {
  // 0755 and under /tmp: munged refuses a socket directory that is not reachable by all.
  const dir = fs.mkdtempSync("/tmp/vs-slurm-slurm-");
  fs.chmodSync(dir, 0o755);
  const f = (name: string) => path.join(dir, name);
  const children: ChildProcess[] = [];
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SLURM_")));
  env.SLURM_CONF = f("slurm.conf");
  const cli = (cmd: string, args: string[]) => run(cmd, args, { env, cwd: dir });
  cleanups.push({
    name: "slurm",
    fn: async () => {
      const ctldUp = children[1] && children[1].exitCode === null;
      // Only our own instance is asked (SLURM_CONF): cancel what an interrupted run left, so no slurmstepd lingers.
      if (ctldUp && (await cli("squeue", ["-h", "-o", "%i"])).stdout.trim()) {
        await cli("scancel", ["--user", os.userInfo().username]);
        const until = Date.now() + 10_000;
        while (Date.now() < until && (await cli("squeue", ["-h", "-o", "%i"])).stdout.trim()) await sleep(200);
      }
      for (const c of [...children].reverse()) await stopChild(c); // slurmd, slurmctld, then munged
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
  const start = (cmd: string, args: string[], name: string) => {
    const out = fs.openSync(f(`${name}.out`), "w"); // in the foreground they log to stderr as well
    // Own process group: a terminal's Ctrl-C reaches only the bench, whose cleanup then stops them in order.
    const child = spawn(cmd, args, { stdio: ["ignore", out, out], env, detached: true });
    fs.closeSync(out);
    child.once("error", () => {});
    children.push(child);
    return child;
  };
  const alive = (c: ChildProcess, name: string) => {
    if (c.exitCode === null && c.signalCode === null) return;
    const text = fs
      .readFileSync(f(`${name}.out`), "utf8")
      .trimEnd()
      .split("\n")
      .slice(-15)
      .join("\n");
    throw new Error(`${name} exited (${c.exitCode ?? c.signalCode}):\n${text}`);
  };

  // A private munged: own key and socket; slurm.conf points at the socket (AuthInfo).
  fs.mkdirSync(f("munge"), { mode: 0o755 });
  const key = f("munge/munge.key");
  if ((await run("/usr/sbin/mungekey", ["--create", `--keyfile=${key}`])).code !== 0) {
    fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o600 });
  }
  const socket = f("munge/munge.socket");
  const munged = start(
    "/usr/sbin/munged",
    [
      "--foreground",
      `--socket=${socket}`,
      `--key-file=${key}`,
      `--pid-file=${f("munge/munged.pid")}`,
      `--log-file=${f("munge/munged.log")}`,
      `--seed-file=${f("munge/munged.seed")}`,
    ],
    "munged",
  );
  for (let i = 0; !fs.existsSync(socket); i++) {
    alive(munged, "munged");
    if (i > 200) throw new Error("munged did not create its socket within 10 s");
    await pause(50);
  }

  const port = await freePorts(2);
  const host = os.hostname().split(".")[0] || "localhost";
  for (const d of ["state", "spool"]) fs.mkdirSync(f(d));
  fs.writeFileSync(f("plugstack.conf"), ""); // else Slurm looks for one beside slurm.conf and warns
  fs.writeFileSync(
    f("slurm.conf"),
    [
      "ClusterName=vsslurm",
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${socket}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      `StateSaveLocation=${f("state")}`,
      `SlurmdSpoolDir=${f("spool")}`,
      `SlurmctldPidFile=${f("slurmctld.pid")}`,
      `SlurmdPidFile=${f("slurmd.pid")}`,
      `SlurmctldLogFile=${f("slurmctld.log")}`,
      `SlurmdLogFile=${f("slurmd.log")}`,
      `PlugStackConfig=${f("plugstack.conf")}`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_CPU", // CPUs only, as crane's default share of memory never limits 64 jobs either
      `SchedulerParameters=default_queue_depth=${Math.max(1000, JOBS)}`,
      `MaxArraySize=${Math.max(1001, JOBS + 1)}`,
      `MaxJobCount=${Math.max(10000, 2 * (JOBS + SEQ))}`,
      "AccountingStorageType=accounting_storage/none",
      "JobAcctGatherType=jobacct_gather/none",
      "JobCompType=jobcomp/none",
      "MpiDefault=none",
      "ReturnToService=2",
      // The node declares 64 CPUs whatever this machine has: slurmd reports the configured figures, not its own.
      "SlurmdParameters=config_overrides",
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${CPUS} State=UNKNOWN`,
      `PartitionName=bench Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      "",
    ].join("\n"),
  );
  log(`slurm: private instance in ${dir} (slurmctld port ${port}, slurmd ${port + 1}, own munged), one node with ${CPUS} CPUs`);

  const t0 = performance.now();
  const ctld = start("/usr/sbin/slurmctld", ["-D", "-f", f("slurm.conf")], "slurmctld");
  const slurmd = start("/usr/sbin/slurmd", ["-D", "-f", f("slurm.conf"), "-N", host], "slurmd");
  for (let i = 0; ; i++) {
    alive(ctld, "slurmctld");
    alive(slurmd, "slurmd");
    const state = (await cli("sinfo", ["-h", "-o", "%T"])).stdout.trim();
    if (state === "idle") break;
    if (i > 300) throw new Error(`slurm: node not idle within 30 s (state '${state}'); see ${f("slurmctld.log")}`);
    await pause(100);
  }
  log(`slurm: up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${(await cli("sinfo", ["-V"])).stdout.trim()})`);
  const lines = (r: Ran) => r.stdout.split("\n").filter(Boolean);
  return workloads({
    name: "slurm",
    submitMany: () => cli("sbatch", ["--parsable", `--array=1-${JOBS}`, "-o", "/dev/null", "--wrap", "true"]),
    submitOne: () => cli("sbatch", ["--parsable", "-o", "/dev/null", "--wrap", "true"]),
    // Pending, running and completing jobs (a pending array counts once: only "empty" matters).
    queued: async () => lines(must(await cli("squeue", ["-h", "-o", "%i"]), "squeue")).length,
    // Ended jobs stay in slurmctld's memory for MinJobAge (300 s); -r lists array tasks one a line. %e is the end
    // time in local time, whole seconds (Date.parse reads an ISO date-time without offset as local).
    completed: async () => lines(must(await cli("squeue", ["-h", "-r", "-t", "CD", "-o", "%e"]), "squeue")).map((l) => Date.parse(l)),
  });
}

async function main() {
  const started = performance.now();
  if (process.getuid?.() !== 0) log("WARNING: not root; crane up and slurmd need root");
  const nodeRuns: number[] = [];
  for (let i = 0; i < 5; i++) nodeRuns.push(must(await run(process.execPath, ["-e", "0"]), "node -e 0").ms);
  const nodeMs = round(median(nodeRuns));
  log(`node -e 0: ${nodeMs} ms (median of 5, ${process.version}); jobs ${JOBS}, sequential ${SEQ}`);

  const result: Record<string, unknown> = {
    jobs: JOBS,
    sequential: SEQ,
    pollMs: POLL_MS,
    cpus: CPUS,
    nodeStartMs: nodeMs,
    hostCpus: os.availableParallelism(),
  };
  let failed = false;
  const half = async (name: string, fn: () => Promise<Figures>): Promise<Figures | undefined> => {
    try {
      checkStop();
      return await fn();
    } catch (e) {
      const msg = (e as Error).message;
      if (interrupted) log(`${name}: ${msg}`);
      else log(`${name}: FAILED: ${msg}`);
      failed ||= !interrupted;
      result[name] = interrupted ? { interrupted } : { error: msg };
      return undefined;
    } finally {
      await cleanUp(); // each scheduler goes before the next starts: they must not compete for the CPUs
    }
  };
  const c = await half("crane", crane);
  if (c) result.crane = c;
  const missing = slurmMissing();
  let s: Figures | undefined;
  if (missing) {
    log(`slurm: skipped: ${missing}`);
    result.slurm = { skipped: missing };
  } else {
    s = await half("slurm", slurm);
    if (s) result.slurm = s;
  }
  if (c && s) {
    const launch = c.launch.jobsPerSecond / s.launch.jobsPerSecond;
    const seq = c.sequential.submissionsPerSecond / s.sequential.submissionsPerSecond;
    const recorded = c.launch.recordedJobsPerSecond / s.launch.recordedJobsPerSecond;
    result.ratio = { launch: round(launch, 2), launchRecorded: round(recorded, 2), sequential: round(seq, 2), launchAim: 2, launchMet: launch >= 2 };
    log(
      `launch ${JOBS} jobs: crane ${c.launch.jobsPerSecond} jobs/s, slurm ${s.launch.jobsPerSecond} jobs/s, crane/slurm ${launch.toFixed(2)} (aim >= 2: ${launch >= 2 ? "met" : "NOT met"}; by recorded end times ${recorded.toFixed(2)})`,
    );
    log(
      `${SEQ} sequential submissions: crane ${c.sequential.submissionsPerSecond}/s, slurm ${s.sequential.submissionsPerSecond}/s, crane/slurm ${seq.toFixed(2)}`,
    );
  }
  result.seconds = round((performance.now() - started) / 1000);
  console.log(JSON.stringify(result));
  process.exitCode = interrupted ? 130 : failed ? 1 : 0;
}

void main().catch(async (e) => {
  console.error(e);
  await cleanUp();
  process.exit(1);
});
