// craned's own use of the container runtime: cleaning up a job's pods by label (whatever its supervisors
// managed or not) and obtaining exec/attach URLs for a container step on this node.
import type { ContainerConfig } from "../../core/config";
import { connectCri, destroyPodSandbox, getAttachUrl, getExecUrl, listPodSandboxes } from "../../core/cri";
import type { StreamRequest } from "../../core/generated/crane/crane";
import type { Logger } from "../../core/log";
import type { StepDirs } from "./steps";
import fs from "node:fs";
import path from "node:path";

export async function removeJobPods(container: ContainerConfig, node: string, jobId: number, log: Logger): Promise<void> {
  const cri = connectCri({ runtimeEndpoint: container.runtimeEndpoint, nodeName: node, timeoutMs: 30_000 });
  try {
    const pods = await listPodSandboxes(cri, { labels: { "crane.job": String(jobId), "crane.node": node } });
    for (const p of pods) {
      log.warn(`removing leftover pod ${p.id.slice(0, 12)} of job ${jobId}`);
      await destroyPodSandbox(cri, p.id);
    }
  } finally {
    cri.close();
  }
}

export async function streamUrl(container: ContainerConfig, dirs: StepDirs, req: StreamRequest): Promise<string> {
  const resultFile = path.join(dirs.stepDir(req.jobId, req.stepId), "container.json");
  let containerId = "";
  try {
    containerId = (JSON.parse(fs.readFileSync(resultFile, "utf8")) as { containerId: string }).containerId;
  } catch {
    throw new Error(`step ${req.jobId}.${req.stepId} has no running container on this node`);
  }
  const cri = connectCri({ runtimeEndpoint: container.runtimeEndpoint, timeoutMs: 10_000 });
  try {
    const streams = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr && !req.tty, tty: req.tty };
    return req.attach ? await getAttachUrl(cri, containerId, streams) : await getExecUrl(cri, containerId, req.command, streams);
  } finally {
    cri.close();
  }
}
