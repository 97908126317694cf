// Job and step cgroups on cgroup v1 (one hierarchy per controller) and v2 (one unified hierarchy).
// Layout: <root>/crane/<cluster>/<node>/job_<id>/step_<id> (the cluster keeps two clusters on one machine, whose
// node names and job ids may coincide, apart); limits sit on the job cgroup, processes in step cgroups
// (cgroup v2 forbids processes in a cgroup that has children with controllers enabled).
import fs from "node:fs";
import path from "node:path";

const ROOT = process.env.CRANE_CGROUP_ROOT || "/sys/fs/cgroup";
const V1_CONTROLLERS = ["cpu", "cpuacct", "memory", "pids", "cpuset", "freezer", "devices", "blkio"];

export type CgroupVersion = 1 | 2;

export function cgroupVersion(): CgroupVersion {
  return fs.existsSync(path.join(ROOT, "cgroup.controllers")) ? 2 : 1;
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

function v1Controllers(): string[] {
  return V1_CONTROLLERS.filter((c) => fs.existsSync(path.join(ROOT, c)));
}

/** Absolute directories that hold the cgroup in every hierarchy it lives in. */
export function cgroupDirs(rel: string): string[] {
  if (cgroupVersion() === 2) return [path.join(ROOT, rel)];
  const seen = new Set<string>();
  const dirs: string[] = [];
  for (const c of v1Controllers()) {
    const real = fs.realpathSync(path.join(ROOT, c));
    if (seen.has(real)) continue; // cpu and cpuacct are often one mount
    seen.add(real);
    dirs.push(path.join(real, rel));
  }
  return dirs;
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
  for (const c of v1Controllers()) {
    let dir = fs.realpathSync(path.join(ROOT, c));
    for (const part of parts) {
      const parent = dir;
      dir = path.join(dir, part);
      if (!fs.existsSync(dir)) fs.mkdirSync(dir);
      if (c === "cpuset") {
        // New cpuset cgroups start empty and refuse tasks until cpus and mems are copied from the parent.
        for (const f of ["cpuset.cpus", "cpuset.mems"]) {
          const mine = fs.readFileSync(path.join(dir, f), "utf8").trim();
          if (!mine) fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(parent, f), "utf8").trim());
        }
      }
    }
  }
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
    const base = (c: string) => path.join(fs.realpathSync(path.join(ROOT, c)), rel);
    if (fs.existsSync(path.join(ROOT, "cpu"))) {
      writeIfExists(path.join(base("cpu"), "cpu.cfs_period_us"), String(period));
      writeIfExists(path.join(base("cpu"), "cpu.cfs_quota_us"), String(quota));
    }
    if (limits.memoryBytes > 0 && fs.existsSync(path.join(ROOT, "memory"))) {
      writeIfExists(path.join(base("memory"), "memory.limit_in_bytes"), String(limits.memoryBytes));
      try {
        writeIfExists(path.join(base("memory"), "memory.memsw.limit_in_bytes"), String(limits.memoryBytes));
      } catch {
        // swap accounting disabled in this kernel
      }
    }
    if (fs.existsSync(path.join(ROOT, "pids"))) writeIfExists(path.join(base("pids"), "pids.max"), pidsMaxValue(limits.pidsMax));
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
    const text = fs.readFileSync(path.join(fs.realpathSync(path.join(ROOT, "memory")), rel, "memory.oom_control"), "utf8");
    return Number(/oom_kill (\d+)/.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function pidsIn(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    try {
      for (const p of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n")) if (p) out.push(Number(p));
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      // vanished while walking
    }
  };
  walk(dir);
  return out;
}

/** Kills every process left in the cgroup and removes it (children first). Safe to call twice. */
export async function destroyCgroup(rel: string): Promise<void> {
  for (const dir of cgroupDirs(rel)) {
    if (!fs.existsSync(dir)) continue;
    for (let attempt = 0; attempt < 50; attempt++) {
      const pids = pidsIn(dir);
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
    removeTree(dir);
  }
}

function removeTree(dir: string): void {
  try {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(path.join(dir, e.name));
    fs.rmdirSync(dir);
  } catch {
    // busy or gone: the next cleanup tries again
  }
}
