// ccancel --signal: a signal for a running job's steps, which go on running. Nothing changes in ctld's records, so
// nothing is saved: the signal goes straight to the nodes that run each step.
//
// With no step named, every running step gets it, the batch script included (Slurm's scancel needs --batch for the
// script; most crane jobs are a script alone, for which that would be a no-op). A job's pod (step 0) has no process
// of the user's and is left out.
import { JobStatus } from "../../core/generated/crane/crane";
import { DAEMON_STEP, findStep, type JobRecord } from "./records";
import type { NodeClient } from "./node-client";

/** Sends `signal` (canonical: SIGUSR1) to the job's steps (all when `stepIds` is empty); "" or why it failed. */
export async function signalJob(job: JobRecord, stepIds: number[], signal: NodeJS.Signals, nodeClient: NodeClient): Promise<string> {
  if (job.status !== JobStatus.Running) return `job ${job.jobId} is ${JobStatus[job.status]}: only a running job can be signalled`;
  const steps = stepIds.length ? stepIds.map((id) => findStep(job, id)) : job.steps.filter((s) => s.status === JobStatus.Running);
  const failures: string[] = [];
  const sends: Promise<void>[] = [];
  steps.forEach((step, i) => {
    if (!step || step.stepId === DAEMON_STEP) return void failures.push(`step ${job.jobId}.${stepIds[i] ?? 0} does not exist`);
    if (step.status !== JobStatus.Running) return void failures.push(`step ${job.jobId}.${step.stepId} is ${JobStatus[step.status]}, not running`);
    for (const node of step.nodes) {
      const req = { jobId: job.jobId, stepId: step.stepId, reasonStatus: JobStatus.Running, reason: "", signal };
      sends.push(
        nodeClient.terminate(node, req).then(
          (r) => void (r.ok || failures.push(`${node}: ${r.reason}`)),
          (e: Error) => void failures.push(`${node} did not answer: ${e.message}`),
        ),
      );
    }
  });
  await Promise.all(sends);
  return failures.join("; ");
}
