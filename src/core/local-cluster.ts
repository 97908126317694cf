// `crane up` / `crane down`: a local cluster (one ctld and N craned "nodes") on this machine, with all
// of its state, logs and generated config in one directory. Serves new users and the test suite alike.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { daemonEnv } from "./daemon-env";
import { clusterCgroupPath, destroyCgroup, jobCgroupPath, nodeCgroupPath } from "./cgroup";
import { loadOrCreateClusterKey } from "./auth/cluster-key";
import { type CraneConfig, loadConfig } from "./config";
import { ctldClient, unary } from "./rpc";
import { cgroupDirsEverywhere } from "./node/cgroup-mounts";
import { NodeLayout } from "./node/layout";
import { isAlive, readIdentityFile, signalChildGroup, signalIdentified } from "./node/process-identity";
import { selfCommand } from "./self";
import { PRIVATE_FILE, TRAVERSE_ONLY_DIR, chmodIfExists, ensureDirMode } from "./file-modes";

export interface UpOptions {
  dir: string;
  nodes: number;
  port: number;
  runtimeEndpoint: string;
  containers: boolean;
  cpusPerNode?: number;
  memoryPerNode?: string;
  cranedTimeoutSeconds?: number;
  pingIntervalSeconds?: number;
  gpusPerNode?: number;
  /** Where ctld and the craneds listen (default 127.0.0.1: this host only). */
  listenAddr?: string;
  /** munged's socket: callers are then identified by MUNGE credentials (AuthType munge) instead of the kernel. */
  mungeSocket?: string;
}

interface PidFile {
  ctld: number;
  craneds: Record<string, number>;
}

export function nodeNames(count: number): string[] {
  const host = os.hostname().split(".")[0] || "localhost";
  return count === 1 ? [host] : Array.from({ length: count }, (_, i) => `${host}-${i + 1}`);
}

export function writeLocalConfig(opts: UpOptions): string {
  // The cluster's state (ctld's database 0700 inside, nodes' state, key, logs) is root's; users' commands read the
  // config, so the directory is traversable but not listable (0711) and config.yaml is world-readable (0644).
  ensureDirMode(opts.dir, TRAVERSE_ONLY_DIR);
  const names = nodeNames(opts.nodes);
  const gpuDir = path.join(opts.dir, "devices");
  const nodes = names.map((name, i) => {
    const node: Record<string, unknown> = {
      name,
      address: "127.0.0.1",
      port: opts.port + 2 + i,
      cpu: opts.cpusPerNode ?? os.availableParallelism(),
      memory: opts.memoryPerNode ?? `${Math.floor((os.totalmem() * 0.8) / opts.nodes / 1048576)}M`,
    };
    if (opts.gpusPerNode) {
      // Stand-in device files, so GRES allocation and device passing work on a machine without GPUs.
      fs.mkdirSync(gpuDir, { recursive: true });
      const files = Array.from({ length: opts.gpusPerNode }, (_, g) => path.join(gpuDir, `gpu${i}-${g}`));
      for (const f of files) if (!fs.existsSync(f)) fs.writeFileSync(f, "");
      node.gres = [{ name: "gpu", type: "sim", DeviceFileList: files }];
    }
    return node;
  });
  const config = {
    // Unique among the clusters of this machine (no two listen on one port): cgroups and pod labels carry it.
    ClusterName: `local-${opts.port}`,
    ControlMachine: "127.0.0.1",
    CraneCtldListenAddr: opts.listenAddr ?? "127.0.0.1",
    CraneCtldListenPort: opts.port,
    CraneCtldForInternalListenPort: opts.port + 1,
    CranedListenAddr: opts.listenAddr ?? "127.0.0.1",
    CranedListenPort: opts.port + 2,
    CraneBaseDir: opts.dir,
    CranedRuntimeDir: localRuntimeDir(opts.dir),
    ...(opts.mungeSocket ? { AuthType: "munge", MungeSocket: opts.mungeSocket } : {}),
    CraneCtld: {
      CranedTimeout: opts.cranedTimeoutSeconds ?? 30,
      ScheduleIntervalMs: 100,
    },
    Craned: { PingInterval: opts.pingIntervalSeconds ?? 5 },
    Nodes: nodes,
    Partitions: [{ name: "CPU", nodes: "ALL" }],
    DefaultPartition: "CPU",
    Container: {
      Enabled: opts.containers,
      RuntimeEndpoint: opts.runtimeEndpoint,
    },
  };
  const file = path.join(opts.dir, "config.yaml");
  fs.writeFileSync(file, `# Written by 'crane up'. Edit and restart with 'crane down && crane up'.\n${YAML.stringify(config)}`);
  chmodIfExists(file, 0o644);
  return file;
}

/**
 * The nodes' runtime directory of the local cluster in `dir`: on a tmpfs when there is one (the step files are made
 * and removed at every step; on this kind of disk that cost about a quarter of the launch rate), made once with a
 * name no one can guess and kept in config.yaml, so that a restarted cluster finds its steps again.
 */
function localRuntimeDir(dir: string): string {
  const file = path.join(dir, "config.yaml");
  const before = fs.existsSync(file) ? (YAML.parse(fs.readFileSync(file, "utf8")) as { CranedRuntimeDir?: unknown })?.CranedRuntimeDir : undefined;
  if (typeof before === "string" && fs.existsSync(before)) return before;
  const tmpfs = ["/run", "/dev/shm"].find(isTmpfs);
  return tmpfs ? fs.mkdtempSync(path.join(tmpfs, "crane-local-")) : path.join(dir, "run");
}

function isTmpfs(dir: string): boolean {
  try {
    return fs
      .readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .some((line) => {
        const [, mountPoint, type] = line.split(" ");
        return mountPoint === dir && type === "tmpfs";
      });
  } catch {
    return false;
  }
}

/**
 * Whether the pid is still this cluster's ctld, not a process that got the number after a reboot: its command line
 * names this cluster's config file.
 */
function isCtldOf(pid: number, dir: string): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const config = path.join(dir, "config.yaml");
    return argv.includes("ctld") && argv.some((a) => a === config || path.resolve(a) === path.resolve(config));
  } catch {
    return true; // no /proc: trust the signal check
  }
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie has exited; only its parent (not us) can reap it, so waiting for it to vanish is pointless.
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true; // no /proc: trust the signal check
  }
}

function readPids(dir: string): PidFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "pids.json"), "utf8")) as PidFile;
  } catch {
    return undefined;
  }
}

function startDaemon(dir: string, name: string, args: string[]): number {
  const out = fs.openSync(path.join(dir, `${name}.log`), "a", PRIVATE_FILE); // daemons' logs name users' jobs
  fs.fchmodSync(out, PRIVATE_FILE);
  const [cmd, ...pre] = selfCommand();
  const child = spawn(cmd!, [...pre, ...args], { detached: true, stdio: ["ignore", out, out], env: daemonEnv() });
  fs.closeSync(out);
  child.unref();
  return child.pid!;
}

export function startCtldDaemon(dir: string, configFile: string): number {
  return startDaemon(dir, "ctld", ["ctld", "-C", configFile]);
}

export function startCranedDaemon(dir: string, configFile: string, node: string, port: number): number {
  return startDaemon(dir, `craned-${node}`, [
    "craned",
    "-C",
    configFile,
    "--node",
    node,
    "--port",
    String(port),
    "--state-dir",
    path.join(dir, "craned", node),
  ]);
}

/** Starts the cluster and resolves once every node has registered, or rejects with the daemons' logs. */
export async function up(opts: UpOptions, timeoutMs = 60_000): Promise<{ configFile: string; alreadyRunning: boolean }> {
  const existing = readPids(opts.dir);
  if (existing && alive(existing.ctld) && isCtldOf(existing.ctld, opts.dir)) {
    return { configFile: path.join(opts.dir, "config.yaml"), alreadyRunning: true };
  }
  const configFile = writeLocalConfig(opts);
  const config = loadConfig(configFile);
  // Made before any daemon starts: the craneds of a one-host cluster derive their node keys from it.
  loadOrCreateClusterKey(config.clusterKeyFile);
  const pids: PidFile = { ctld: startCtldDaemon(opts.dir, configFile), craneds: {} };
  config.nodes.forEach((n) => {
    pids.craneds[n.name] = startCranedDaemon(opts.dir, configFile, n.name, n.port);
  });
  fs.writeFileSync(path.join(opts.dir, "pids.json"), JSON.stringify(pids));
  await waitForNodes(config, timeoutMs, () => {
    const dead = [["ctld", pids.ctld] as const, ...Object.entries(pids.craneds)].filter(([, pid]) => !alive(pid));
    if (dead.length > 0) {
      const logs = dead.map(([n]) => tail(path.join(opts.dir, `${n === "ctld" ? "ctld" : `craned-${n}`}.log`))).join("\n");
      throw new Error(`${dead.map(([n]) => n).join(", ")} exited during start-up:\n${logs}`);
    }
  });
  return { configFile, alreadyRunning: false };
}

export async function waitForNodes(config: CraneConfig, timeoutMs: number, check: () => void = () => {}): Promise<void> {
  const count = config.nodes.length;
  const client = ctldClient("127.0.0.1", config.ctldPort, { type: config.authType, mungeSocket: config.mungeSocket });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      check();
      try {
        const info = await unary(client, client.queryClusterInfo, { partitions: [], nodes: [], states: [] }, 2000);
        if (info.nodes.filter((n) => n.state !== "down").length >= count) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the local cluster did not come up within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}

function tail(file: string, lines = 20): string {
  try {
    return `--- ${file}\n${fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n")}`;
  } catch {
    return `--- ${file}: no log`;
  }
}

/** Stops the daemons (SIGTERM, then SIGKILL after a grace period). Running steps' supervisors stop with their jobs. */
export async function down(dir: string, graceMs = 10_000): Promise<boolean> {
  const pids = readPids(dir);
  if (!pids) return false;
  const all = [pids.ctld, ...Object.values(pids.craneds)].filter(alive);
  for (const pid of all) process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (all.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of all.filter(alive)) process.kill(pid, "SIGKILL");
  fs.rmSync(path.join(dir, "pids.json"), { force: true });
  return true;
}

/**
 * Ends whatever a stopped local cluster left running: each node's supervisor is asked to stop its steps (which
 * removes their containers and pods) and is killed if it does not exit in time, then any task whose shim is still
 * there is killed, and the cgroups of the jobs its nodes still hold are removed. Only those: other local clusters on
 * this machine may use the same node names.
 */
export async function purge(dir: string): Promise<void> {
  const cranedRoot = path.join(dir, "craned");
  if (!fs.existsSync(cranedRoot)) return;
  const config = loadConfig(path.join(dir, "config.yaml"));
  const cluster = config.clusterName;
  const layouts = fs
    .readdirSync(cranedRoot)
    .map((node) => ({ node, layout: new NodeLayout(path.join(cranedRoot, node), path.join(config.cranedRuntimeDir, node)) }));
  const supervisors = layouts.map(({ layout }) => readIdentityFile(layout.supervisorPidFile)).filter((s) => signalIdentified(s, "SIGTERM"));
  const deadline = Date.now() + 20_000;
  while (supervisors.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const s of supervisors) signalIdentified(s, "SIGKILL");
  const heldJobs: { node: string; jobId: number }[] = [];
  for (const { node, layout } of layouts) {
    for (const [jobId, stepId] of layout.listSteps()) {
      heldJobs.push({ node, jobId });
      for (let task = 0; fs.existsSync(layout.shimPidFile(jobId, stepId, task)); task++) {
        const shim = readIdentityFile(layout.shimPidFile(jobId, stepId, task));
        signalChildGroup(shim, layout.taskPidFile(jobId, stepId, task), "SIGKILL");
        signalIdentified(shim, "SIGKILL");
      }
    }
  }
  for (const { node, jobId } of heldJobs) await destroyCgroup(jobCgroupPath(cluster, node, jobId));
  for (const { node } of layouts) removeEmptyCgroup(nodeCgroupPath(cluster, node));
  removeEmptyCgroup(clusterCgroupPath(cluster));
  fs.rmSync(config.cranedRuntimeDir, { recursive: true, force: true });
}

/** Removes a cgroup left without jobs (or nodes), also where only the runtime made it; one still in use stays. */
function removeEmptyCgroup(rel: string): void {
  for (const d of cgroupDirsEverywhere(rel)) {
    try {
      fs.rmdirSync(d);
    } catch {
      // gone, or still has children
    }
  }
}
