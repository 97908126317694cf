// A real crane cluster for integration tests: the built single executable (dist/crane) started with
// `crane up` in a private directory on free loopback ports, optionally on a private containerd.
// Commands run as separate processes exactly as a user would run them.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { daemonEnv } from "../../src/core/daemon-env";
import { NodeLayout } from "../../src/core/node/layout";

export const ROOT = path.resolve(__dirname, "..", "..");
export const DIST = path.join(ROOT, "dist");
export const CRANE = path.join(DIST, "crane");

export function binaryMissingReason(): string | undefined {
  if (!fs.existsSync(CRANE)) return "dist/crane is missing: run `npm run build` first";
  if (process.getuid?.() !== 0) return "integration tests need root (cgroups, containerd)";
  return undefined;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A base port with `count` free ports after it. */
export async function freePortBase(count: number): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestCluster {
  dir: string;
  configFile: string;
  port: number;
  nodes: string[];
  env: NodeJS.ProcessEnv;
  /** Runs a user command (`ccon`, `cbatch`, ... or `crane`) against this cluster. */
  run(cmd: string, args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Polls `cqueue --json -a` until `pred` holds for the job; returns the job. */
  waitJob(jobId: number, pred: (job: JobJson) => boolean, timeoutMs?: number): Promise<JobJson>;
  pids(): { ctld: number; craneds: Record<string, number> };
  stop(): Promise<void>;
}

export interface JobJson {
  job_id: number;
  user: string;
  status: string;
  exit_code: number;
  reason: string;
  nodes: string[];
  pending_reason: string;
  requeue_count: number;
  steps: { step_id: number; status: string; exit_code: number; reason: string; nodes: string[] }[];
}

export async function startCluster(
  opts: {
    nodes?: number;
    runtimeEndpoint?: string;
    extraArgs?: string[];
    /** for `crane up`, so for its daemons */ daemonEnv?: NodeJS.ProcessEnv;
    /** Called before `crane up` with the cluster's directory and node names (e.g. to mount a small disk where a state dir goes). */
    beforeUp?: (dir: string, nodes: string[]) => void;
  } = {},
): Promise<TestCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-it-"));
  const nodeCount = opts.nodes ?? 1;
  const host = os.hostname().split(".")[0]!;
  const nodes = nodeCount === 1 ? [host] : Array.from({ length: nodeCount }, (_, i) => `${host}-${i + 1}`);
  opts.beforeUp?.(dir, nodes);
  const port = await freePortBase(3 + nodeCount);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${DIST}:${process.env.PATH}`,
    CRANE_CONFIG: path.join(dir, "config.yaml"),
    CRANE_LOCAL_DIR: dir,
  };
  delete env.CRANE_JOB_ID;
  const upArgs = ["up", "--dir", dir, "--port", String(port), "--nodes", String(nodeCount), "--cpus", "4", "--memory", "4G"];
  if (opts.runtimeEndpoint) upArgs.push("--runtime-endpoint", opts.runtimeEndpoint);
  else upArgs.push("--no-containers");
  upArgs.push(...(opts.extraArgs ?? []));
  const up = spawnSync(CRANE, upArgs, { env: { ...env, ...opts.daemonEnv }, encoding: "utf8", timeout: 60_000 });
  if (up.status !== 0) {
    // A node that failed to start leaves ctld (and the other nodes) running: stop whatever did start.
    spawnSync(CRANE, ["down", "--dir", dir, "--purge"], { env, encoding: "utf8", timeout: 60_000 });
    throw new Error(`crane up failed (${up.status}): ${up.stdout}${up.stderr}`);
  }

  const run: TestCluster["run"] = (cmd, args, o = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(path.join(DIST, cmd), args, { cwd: o.cwd ?? dir, env: { ...env, ...o.env } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 60_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      if (o.input !== undefined) child.stdin.end(o.input);
      else child.stdin.end();
    });

  const cluster: TestCluster = {
    dir,
    configFile: path.join(dir, "config.yaml"),
    port,
    nodes,
    env,
    run,
    async waitJob(jobId, pred, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: JobJson | undefined;
      while (Date.now() < deadline) {
        const r = await run("cqueue", ["--json", "-a", "-j", String(jobId)]);
        if (r.code === 0) {
          last = (JSON.parse(r.stdout) as { jobs: JobJson[] }).jobs.find((j) => j.job_id === jobId);
          if (last && pred(last)) return last;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`job ${jobId} did not reach the expected state; last seen: ${JSON.stringify(last)}`);
    },
    pids() {
      return JSON.parse(fs.readFileSync(path.join(dir, "pids.json"), "utf8"));
    },
    /** `crane down --purge`, once more a little later if it failed (e.g. dist/crane was being rebuilt meanwhile). */
    async stop() {
      const down = () => spawnSync(CRANE, ["down", "--dir", dir, "--purge"], { env, encoding: "utf8", timeout: 60_000 });
      down();
      if (fs.existsSync(path.join(dir, "pids.json"))) {
        await new Promise((r) => setTimeout(r, 3_000));
        down();
      }
    },
  };
  return cluster;
}

/** The job id printed by a successful cbatch, or an error showing what it printed instead. */
export function jobIdOf(r: RunResult): number {
  const m = /Job id allocated: (\d+)\./.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`submission failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

export async function submit(cluster: TestCluster, args: string[], cwd?: string): Promise<number> {
  return jobIdOf(await cluster.run("cbatch", args, { cwd }));
}

export const finished = (j: JobJson) => !["Pending", "Configuring", "Starting", "Running", "Completing"].includes(j.status);

/** Gone, or a zombie nobody has reaped yet (it runs nothing any more). */
export function processGone(pid: number): boolean {
  try {
    return /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

export async function waitFor(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ------------------------------------------------------------------------------------------------ daemons by hand

/** Starts a daemon the way `crane up` does (detached, output appended to <dir>/<log>) and records it in pids.json. */
function startDaemon(
  cluster: TestCluster,
  log: string,
  args: string[],
  record: (pids: ReturnType<TestCluster["pids"]>, pid: number) => void,
  env: NodeJS.ProcessEnv = {},
): number {
  const out = fs.openSync(path.join(cluster.dir, log), "a");
  const child = spawn(CRANE, args, { detached: true, stdio: ["ignore", out, out], env: daemonEnv({ ...cluster.env, ...env }) });
  fs.closeSync(out);
  child.unref();
  const pids = cluster.pids();
  record(pids, child.pid!);
  fs.writeFileSync(path.join(cluster.dir, "pids.json"), JSON.stringify(pids));
  return child.pid!;
}

/** Starts ctld again; `env` is added to the cluster's environment (e.g. to run it under libfaketime). */
/** A node's runtime directory (its steps' files: spec, shim and task pids, exit statuses), as its config says. */
export function nodeRuntimeDir(cluster: TestCluster, node: string): string {
  const config = YAML.parse(fs.readFileSync(cluster.configFile, "utf8")) as { CranedRuntimeDir: string };
  return path.join(config.CranedRuntimeDir, node);
}

/** The files a node keeps: its state directory in the cluster's, its runtime directory where the config says. */
export function nodeLayout(cluster: TestCluster, node: string): NodeLayout {
  return new NodeLayout(path.join(cluster.dir, "craned", node), nodeRuntimeDir(cluster, node));
}

export function restartCtld(cluster: TestCluster, env?: NodeJS.ProcessEnv): number {
  return startDaemon(cluster, "ctld.log", ["ctld", "-C", cluster.configFile], (p, pid) => (p.ctld = pid), env);
}

export function restartCraned(cluster: TestCluster, node: string, env?: NodeJS.ProcessEnv): number {
  const config = YAML.parse(fs.readFileSync(cluster.configFile, "utf8")) as { CranedListenPort: number };
  const port = config.CranedListenPort + cluster.nodes.indexOf(node);
  return startDaemon(
    cluster,
    `craned-${node}.log`,
    ["craned", "-C", cluster.configFile, "--node", node, "--port", String(port), "--state-dir", path.join(cluster.dir, "craned", node)],
    (p, pid) => (p.craneds[node] = pid),
    env,
  );
}
