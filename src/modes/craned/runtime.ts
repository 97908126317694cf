// craned's own use of the container runtime: cleaning up a job's pods by label (whatever its supervisors
// managed or not) and obtaining exec/attach URLs for a container step on this node.
import { cgroupDirs, jobCgroupPath } from "../../core/cgroup";
import type { ContainerConfig, CraneConfig } from "../../core/config";
import { connectCri, destroyPodSandbox, getAttachUrl, getExecUrl, listPodSandboxes } from "../../core/cri";
import type { StreamRequest } from "../../core/generated/crane/crane";
import type { Logger } from "../../core/log";
import { cgroupDirsEverywhere } from "../../core/node/cgroup-mounts";
import { readJson, type NodeLayout } from "../../core/node/layout";
import fs from "node:fs";
import path from "node:path";

export async function removeJobPods(config: CraneConfig, node: string, jobId: number, log: Logger): Promise<void> {
  const cri = connectCri({ runtimeEndpoint: config.container.runtimeEndpoint, nodeName: node, timeoutMs: 30_000 });
  try {
    const pods = await listPodSandboxes(cri, { labels: { "crane.cluster": config.clusterName, "crane.job": String(jobId), "crane.node": node } });
    for (const p of pods) {
      log.warn(`removing leftover pod ${p.id.slice(0, 12)} of job ${jobId}`);
      await destroyPodSandbox(cri, p.id);
    }
  } finally {
    cri.close();
  }
  removeRuntimeOnlyCgroups(jobCgroupPath(config.clusterName, node, jobId));
}

/**
 * runc creates a pod's cgroup parent (the job's cgroup) in every mounted hierarchy, also in those crane does not
 * manage (cgroup v1 "name=systemd", the hybrid "unified" cgroup2), and leaves the job's directory there when the
 * pod goes. Removes those now-empty directories; crane's own hierarchies are left to destroyCgroup.
 */
function removeRuntimeOnlyCgroups(rel: string): void {
  const managed = new Set(cgroupDirs(rel));
  for (const dir of cgroupDirsEverywhere(rel)) if (!managed.has(dir) && fs.existsSync(dir)) removeEmptyTree(dir);
}

function removeEmptyTree(dir: string): void {
  try {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeEmptyTree(path.join(dir, e.name));
    fs.rmdirSync(dir);
  } catch {
    // still in use (a process or a child cgroup left): not ours to force
  }
}

export async function streamUrl(container: ContainerConfig, layout: NodeLayout, req: StreamRequest): Promise<string> {
  const containerId = readJson<{ containerId: string }>(layout.containerFile(req.jobId, req.stepId))?.containerId;
  if (!containerId) throw new Error(`step ${req.jobId}.${req.stepId} has no running container on this node`);
  const cri = connectCri({ runtimeEndpoint: container.runtimeEndpoint, timeoutMs: 10_000 });
  try {
    const streams = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr && !req.tty, tty: req.tty };
    return req.attach ? await getAttachUrl(cri, containerId, streams) : await getExecUrl(cri, containerId, req.command, streams);
  } finally {
    cri.close();
  }
}
