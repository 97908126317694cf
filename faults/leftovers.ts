// What a cluster's jobs leave behind once they ended: CRI pods and containers labelled with the cluster (and the job),
// job cgroups under crane's cgroup root in every mounted hierarchy, step and job directories in the nodes' state dirs,
// and processes: tasks still in a job's cgroup, shims of its steps, and supervisors beyond each node's one.
import fs from "node:fs";
import path from "node:path";
import { nodeCgroupPath, clusterCgroupPath } from "../src/core/cgroup";
import { type CriClient, listContainers, listPodSandboxes } from "../src/core/cri";
import { cgroupMountPoints } from "../src/core/node/cgroup-mounts";
import { readIdentityFile } from "../src/core/node/process-identity";
import { nodeLayout, type TestCluster } from "../test/harness/cluster";
import { listProcesses } from "../test/harness/processes";

export interface Leftovers {
  pods: string[];
  containers: string[];
  cgroups: string[];
  stepDirs: string[];
  processes: string[];
}

export const NOTHING_LEFT: Leftovers = { pods: [], containers: [], cgroups: [], stepDirs: [], processes: [] };

export function clusterName(cluster: TestCluster): string {
  return `local-${cluster.port}`;
}

export function isNothing(l: Leftovers): boolean {
  return Object.values(l).every((list: string[]) => list.length === 0);
}

/** `which` is the set of job ids to look at, or "all" for anything of the cluster (after it was purged). */
export async function findLeftovers(cluster: TestCluster, cri: CriClient, which: Set<number> | "all"): Promise<Leftovers> {
  const name = clusterName(cluster);
  const mine = (jobId: number) => which === "all" || which.has(jobId);
  const labels = { "crane.cluster": name };
  const pods = (await listPodSandboxes(cri, { labels })).filter((p) => mine(Number(p.labels["crane.job"])));
  const containers = (await listContainers(cri, { labels })).filter((c) => mine(Number(c.labels["crane.job"])));

  const cgroups: string[] = [];
  for (const mountPoint of cgroupMountPoints()) {
    if (which === "all") {
      if (fs.existsSync(path.join(mountPoint, clusterCgroupPath(name)))) cgroups.push(path.join(mountPoint, clusterCgroupPath(name)));
      continue;
    }
    for (const node of cluster.nodes) {
      for (const jobId of which) {
        const dir = path.join(mountPoint, nodeCgroupPath(name, node), `job_${jobId}`);
        if (fs.existsSync(dir)) cgroups.push(dir);
      }
    }
  }

  const stepDirs: string[] = [];
  const layouts = cluster.nodes.map((node) => nodeLayout(cluster, node));
  for (const layout of layouts) {
    for (const [jobId, stepId] of layout.listSteps()) if (mine(jobId)) stepDirs.push(layout.stepDir(jobId, stepId));
    for (const entry of fs.existsSync(path.join(layout.runtimeDir, "jobs")) ? fs.readdirSync(path.join(layout.runtimeDir, "jobs")) : []) {
      if (mine(Number(entry))) stepDirs.push(layout.jobDir(Number(entry)));
    }
  }

  const processes: string[] = [];
  const nodeSupervisors = new Set(layouts.map((l) => readIdentityFile(l.supervisorPidFile)?.pid));
  const jobCgroup = new RegExp(`/crane/${name.replace(/[.]/g, "\\.")}/[^/\\n]+/job_(\\d+)(/|$)`, "m");
  const runtimeRoot = path.dirname(layouts[0]!.runtimeDir);
  const stepFile = new RegExp(`${runtimeRoot.replace(/[.]/g, "\\.")}/[^/ ]+/steps/(\\d+)\\.`);
  for (const p of listProcesses()) {
    const inJob = jobCgroup.exec(p.cgroups);
    const ofStep = stepFile.exec(p.cmdline);
    const supervisor = p.stdout.startsWith(`${cluster.dir}/craned/`) && p.stdout.endsWith("/supervisor.log");
    if (inJob && mine(Number(inJob[1]))) processes.push(`${p.pid} in job ${inJob[1]}'s cgroup: ${p.cmdline.slice(0, 80)}`);
    else if (ofStep && mine(Number(ofStep[1]))) processes.push(`${p.pid} shim of job ${ofStep[1]}`);
    else if (supervisor && (which === "all" || !nodeSupervisors.has(p.pid))) processes.push(`${p.pid} supervisor (${p.stdout})`);
    else if (which === "all" && p.cmdline.includes(cluster.dir)) processes.push(`${p.pid}: ${p.cmdline.slice(0, 80)}`);
  }

  return {
    pods: pods.map((p) => `pod ${p.id.slice(0, 12)} of job ${p.labels["crane.job"]}`),
    containers: containers.map((c) => `container ${c.id.slice(0, 12)} of job ${c.labels["crane.job"]}`),
    cgroups,
    stepDirs,
    processes,
  };
}

/** Leftovers once the node had time to clean up: polled until nothing is left or `timeoutMs` passed. */
export async function settledLeftovers(cluster: TestCluster, cri: CriClient, which: Set<number> | "all", timeoutMs: number): Promise<Leftovers> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await findLeftovers(cluster, cri, which);
    if (isNothing(found) || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 500));
  }
}
