// Job and step cgroups on cgroup v1 (one hierarchy per controller) and v2 (one unified hierarchy).
// Layout: <root>/crane/<cluster>/<node>/job_<id>/step_<id> (the cluster keeps two clusters on one machine, whose
// node names and job ids may coincide, apart); limits sit on the job cgroup, processes in step cgroups
// (cgroup v2 forbids processes in a cgroup that has children with controllers enabled).
import fs from "node:fs";
import path from "node:path";

const ROOT = process.env.CRANE_CGROUP_ROOT || "/sys/fs/cgroup";
// On v1 crane keeps a job's cgroups only in the hierarchies it sets limits in or reads usage from: each one costs a
// mkdir, a cgroup.procs write, a readdir and an rmdir per job and per step, which bounded the launch rate. A pod's
// other hierarchies (cpuset, devices, ...) are runc's, which creates the job's path in them and crane removes after.
const V1_CONTROLLERS = ["cpu", "cpuacct", "memory", "pids"];

export type CgroupVersion = 1 | 2;

// The hierarchies are mounted before any daemon starts and do not move while it runs: looked up once.
let version: CgroupVersion | undefined;
let v1Hierarchies: { controller: string; dir: string }[] | undefined;

export function cgroupVersion(): CgroupVersion {
  return (version ??= fs.existsSync(path.join(ROOT, "cgroup.controllers")) ? 2 : 1);
}

/** Each mounted v1 controller with its hierarchy's real directory (cpu and cpuacct are often one mount). */
function hierarchies(): { controller: string; dir: string }[] {
  return (v1Hierarchies ??= V1_CONTROLLERS.filter((c) => fs.existsSync(path.join(ROOT, c))).map((c) => ({
    controller: c,
    dir: fs.realpathSync(path.join(ROOT, c)),
  })));
}

export interface JobLimits {
  cpu: number; // cores, fractional
  memoryBytes: number;
  /** pids.max: processes and threads the job may have on the node (Craned.JobPidsMax); 0 or absent = unlimited. */
  pidsMax?: number;
}

/** The cgroup path of a job relative to the hierarchy root, as CRI's cgroup_parent wants it. */
export function jobCgroupPath(cluster: string, node: string, jobId: number): string {
  return `${nodeCgroupPath(cluster, node)}/job_${jobId}`;
}

/** The cgroup holding all jobs of one node of one cluster. */
export function nodeCgroupPath(cluster: string, node: string): string {
  return `${clusterCgroupPath(cluster)}/${sanitize(node)}`;
}

export function clusterCgroupPath(cluster: string): string {
  return `/crane/${sanitize(cluster)}`;
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** Absolute directories that hold the cgroup in every hierarchy it lives in. */
export function cgroupDirs(rel: string): string[] {
  if (cgroupVersion() === 2) return [path.join(ROOT, rel)];
  return [...new Set(hierarchies().map((h) => h.dir))].map((d) => path.join(d, rel));
}

/** Makes a directory whose parents usually exist already: one mkdir then, parents only when missing. */
function mkdirOnce(dir: string): boolean {
  try {
    fs.mkdirSync(dir);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "ENOENT") throw e;
  }
  fs.mkdirSync(dir, { recursive: true });
  return true;
}

function writeIfExists(file: string, value: string): void {
  if (fs.existsSync(file)) fs.writeFileSync(file, value);
}

/** Creates every level down to `rel`, preparing parents the way each version needs. */
function ensureTree(rel: string): void {
  const parts = rel.split("/").filter(Boolean);
  if (cgroupVersion() === 2) {
    let dir = ROOT;
    for (const part of parts) {
      const controllers = fs.readFileSync(path.join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/);
      const wanted = ["cpu", "memory", "pids", "cpuset"].filter((c) => controllers.includes(c));
      try {
        fs.writeFileSync(path.join(dir, "cgroup.subtree_control"), wanted.map((c) => `+${c}`).join(" "));
      } catch {
        // a controller may be unavailable here (e.g. threaded); the limits that matter still apply
      }
      dir = path.join(dir, part);
      fs.mkdirSync(dir, { recursive: true });
    }
    return;
  }
  for (const { dir: root } of hierarchies()) mkdirOnce(path.join(root, ...parts));
}

export function createJobCgroup(cluster: string, node: string, jobId: number, limits: JobLimits): string {
  const rel = jobCgroupPath(cluster, node, jobId);
  ensureTree(rel);
  const period = 100_000;
  const quota = Math.max(1000, Math.round(limits.cpu * period));
  if (cgroupVersion() === 2) {
    const dir = path.join(ROOT, rel);
    writeIfExists(path.join(dir, "cpu.max"), `${quota} ${period}`);
    if (limits.memoryBytes > 0) {
      writeIfExists(path.join(dir, "memory.max"), String(limits.memoryBytes));
      writeIfExists(path.join(dir, "memory.swap.max"), "0");
    }
    writeIfExists(path.join(dir, "pids.max"), pidsMaxValue(limits.pidsMax));
  } else {
    const base = (c: string) => path.join(hierarchies().find((h) => h.controller === c)!.dir, rel);
    const has = (c: string) => hierarchies().some((h) => h.controller === c);
    if (has("cpu")) {
      writeIfExists(path.join(base("cpu"), "cpu.cfs_period_us"), String(period));
      writeIfExists(path.join(base("cpu"), "cpu.cfs_quota_us"), String(quota));
    }
    if (limits.memoryBytes > 0 && has("memory")) {
      writeIfExists(path.join(base("memory"), "memory.limit_in_bytes"), String(limits.memoryBytes));
      try {
        writeIfExists(path.join(base("memory"), "memory.memsw.limit_in_bytes"), String(limits.memoryBytes));
      } catch {
        // swap accounting disabled in this kernel
      }
    }
    if (has("pids")) writeIfExists(path.join(base("pids"), "pids.max"), pidsMaxValue(limits.pidsMax));
  }
  return rel;
}

/** What pids.max is set to: a count, or "max" for unlimited (also resetting a limit an earlier step set). */
function pidsMaxValue(n: number | undefined): string {
  return n && n > 0 ? String(Math.floor(n)) : "max";
}

export function createStepCgroup(jobCgroup: string, stepId: number): string {
  const rel = `${jobCgroup}/step_${stepId}`;
  ensureTree(rel);
  return rel;
}

/** How many times the kernel's OOM killer fired inside the cgroup (v1 counts at the job level). */
export function oomKillCount(rel: string): number {
  try {
    if (cgroupVersion() === 2) {
      const text = fs.readFileSync(path.join(ROOT, rel, "memory.events"), "utf8");
      return Number(/oom_kill (\d+)/.exec(text)?.[1] ?? 0);
    }
    const memory = hierarchies().find((h) => h.controller === "memory");
    if (!memory) return 0;
    const text = fs.readFileSync(path.join(memory.dir, rel, "memory.oom_control"), "utf8");
    return Number(/oom_kill (\d+)/.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The cgroup and every cgroup below it, children before parents (one readdir per cgroup). */
function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    try {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      out.push(d);
    } catch {
      // vanished while walking
    }
  };
  walk(dir);
  return out;
}

function pidsIn(tree: string[]): number[] {
  const out: number[] = [];
  for (const d of tree) {
    try {
      for (const p of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n")) if (p) out.push(Number(p));
    } catch {
      // vanished
    }
  }
  return out;
}

export async function destroyCgroup(rel: string): Promise<void> {
  for (const dir of cgroupDirs(rel)) {
    const tree = treeOf(dir);
    if (tree.length === 0) continue;
    for (let attempt = 0; attempt < 50; attempt++) {
      const pids = pidsIn(tree);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const d of tree) {
      try {
        fs.rmdirSync(d);
      } catch {
        // busy or gone: the next cleanup tries again
      }
    }
  }
}

/** What the processes of a cgroup used: peak memory and CPU time (0 when not measured). */
export interface CgroupUsage {
  maxRssBytes: number;
  cpuTimeUsec: number;
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function v1Dir(controller: string, rel: string): string | undefined {
  const h = hierarchies().find((x) => x.controller === controller);
  return h && path.join(h.dir, rel);
}

/**
 * The cgroup's usage so far. Memory is the kernel's peak (v2 memory.peak, v1 memory.max_usage_in_bytes) or, on a
 * v2 kernel without memory.peak, memory.current: then `memoryIsSample`, and only sampling finds the peak.
 * CPU time is v2 cpu.stat usage_usec or v1 cpuacct.usage (ns). Undefined fields: the cgroup or the file is gone.
 */
export function readCgroupUsage(rel: string): { memoryBytes?: number; memoryIsSample: boolean; cpuTimeUsec?: number } {
  if (cgroupVersion() === 2) {
    const dir = path.join(ROOT, rel);
    const peak = readNumber(path.join(dir, "memory.peak"));
    let cpuTimeUsec: number | undefined;
    try {
      const m = /^usage_usec (\d+)$/m.exec(fs.readFileSync(path.join(dir, "cpu.stat"), "utf8"));
      if (m) cpuTimeUsec = Number(m[1]);
    } catch {
      // gone
    }
    if (peak !== undefined) return { memoryBytes: peak, memoryIsSample: false, cpuTimeUsec };
    return { memoryBytes: readNumber(path.join(dir, "memory.current")), memoryIsSample: true, cpuTimeUsec };
  }
  const memory = v1Dir("memory", rel);
  const cpuacct = v1Dir("cpuacct", rel);
  const ns = cpuacct === undefined ? undefined : readNumber(path.join(cpuacct, "cpuacct.usage"));
  return {
    memoryBytes: memory === undefined ? undefined : readNumber(path.join(memory, "memory.max_usage_in_bytes")),
    memoryIsSample: false,
    cpuTimeUsec: ns === undefined ? undefined : Math.floor(ns / 1000),
  };
}

/**
 * Keeps a cgroup's peak memory and CPU time while it lives: `sample()` reads it (a vanished cgroup keeps what was
 * read before), and where the kernel keeps no peak a timer samples memory.current every `intervalMs`.
 */
export class CgroupUsageMeter {
  private usage: CgroupUsage = { maxRssBytes: 0, cpuTimeUsec: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly rel: string,
    intervalMs = 1000,
  ) {
    if (this.read()) {
      this.timer = setInterval(() => this.read(), intervalMs);
      this.timer.unref();
    }
  }

  /** The usage up to now. */
  sample(): CgroupUsage {
    this.read();
    return { ...this.usage };
  }

  /** The last reading; no more sampling. */
  stop(): CgroupUsage {
    clearInterval(this.timer);
    return this.sample();
  }

  /** Reads the cgroup; true when memory is a sample (sampling needed). */
  private read(): boolean {
    const r = readCgroupUsage(this.rel);
    if (r.memoryBytes !== undefined) this.usage.maxRssBytes = Math.max(this.usage.maxRssBytes, r.memoryBytes);
    if (r.cpuTimeUsec !== undefined) this.usage.cpuTimeUsec = Math.max(this.usage.cpuTimeUsec, r.cpuTimeUsec);
    return r.memoryIsSample;
  }
}
