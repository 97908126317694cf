// Node housekeeping, as kubelet's garbage collector: what this node holds for jobs it no longer runs is removed.
// Pods and containers labelled with this cluster and node, job cgroups under the node's cgroup, and step logs past
// Craned.LogRetentionDays. What is "still running" is the step table, which registration reconciles with ctld (ctld
// stops and frees what it no longer knows), so anything outside it is a leftover: of a craned that died mid-free, of a
// supervisor killed while creating a pod, or of a job ctld forgot. Runs when craned starts and every
// Craned.HousekeepingInterval seconds; a removal that fails is tried again next time.
import fs from "node:fs";
import path from "node:path";
import { cgroupDirs, destroyCgroup, jobCgroupPath, nodeCgroupPath } from "../../core/cgroup";
import type { CraneConfig } from "../../core/config";
import { connectCri, destroyPodSandbox, listContainers, listPodSandboxes, removeContainer } from "../../core/cri";
import type { Logger } from "../../core/log";
import type { NodeLayout } from "../../core/node/layout";

export interface Sweep {
  pods: number;
  containers: number;
  cgroups: number;
  logs: number;
}

/** Job ids from `job_<id>` cgroup directory names. */
export function jobIdsOfCgroups(names: string[]): number[] {
  return names
    .map((n) => /^job_(\d+)$/.exec(n)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number);
}

/** Log directories (named by job id) older than the retention, of jobs not held. */
export function expiredLogs(entries: { name: string; mtimeMs: number }[], held: (jobId: number) => boolean, now: number, retentionDays: number): number[] {
  const cutoff = now - retentionDays * 86_400_000;
  return entries
    .filter((e) => /^\d+$/.test(e.name) && e.mtimeMs < cutoff)
    .map((e) => Number(e.name))
    .filter((id) => !held(id));
}

export async function sweepNode(config: CraneConfig, node: string, layout: NodeLayout, held: (jobId: number) => boolean, log: Logger): Promise<Sweep> {
  const done: Sweep = { pods: 0, containers: 0, cgroups: 0, logs: 0 };
  if (config.container.enabled) {
    const cri = connectCri({ runtimeEndpoint: config.container.runtimeEndpoint, nodeName: node, timeoutMs: 10_000 });
    try {
      const labels = { "crane.cluster": config.clusterName, "crane.node": node };
      for (const p of await listPodSandboxes(cri, { labels })) {
        const jobId = Number(p.labels["crane.job"]);
        if (held(jobId)) continue;
        await destroyPodSandbox(cri, p.id).then(
          () => done.pods++,
          (e: Error) => log.warn(`housekeeping: pod ${p.id.slice(0, 12)}: ${e.message}`),
        );
      }
      for (const c of await listContainers(cri, { labels })) {
        if (held(Number(c.labels["crane.job"]))) continue;
        await removeContainer(cri, c.id).then(
          () => done.containers++,
          (e: Error) => log.warn(`housekeeping: container ${c.id.slice(0, 12)}: ${e.message}`),
        );
      }
    } catch (e) {
      log.warn(`housekeeping: the container runtime: ${(e as Error).message}`);
    } finally {
      cri.close();
    }
  }
  const cgroupJobs = new Set<number>();
  for (const dir of cgroupDirs(nodeCgroupPath(config.clusterName, node))) {
    try {
      for (const id of jobIdsOfCgroups(fs.readdirSync(dir))) cgroupJobs.add(id);
    } catch {
      // no cgroup for this node in that hierarchy yet
    }
  }
  for (const jobId of cgroupJobs) {
    if (held(jobId)) continue;
    await destroyCgroup(jobCgroupPath(config.clusterName, node, jobId));
    done.cgroups++;
  }
  const logRoot = path.join(layout.stateDir, "logs");
  const entries = fs.readdirSync(logRoot, { withFileTypes: true }).filter((e) => e.isDirectory());
  const stats = entries.map((e) => ({ name: e.name, mtimeMs: fs.statSync(path.join(logRoot, e.name)).mtimeMs }));
  for (const jobId of expiredLogs(stats, held, Date.now(), config.logRetentionDays)) {
    fs.rmSync(layout.logDir(jobId), { recursive: true, force: true });
    done.logs++;
  }
  if (done.pods + done.containers + done.cgroups + done.logs > 0) {
    log.info(`housekeeping removed ${done.pods} pod(s), ${done.containers} container(s), ${done.cgroups} cgroup(s), ${done.logs} log dir(s) no job owns`);
  }
  return done;
}
