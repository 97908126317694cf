// `crane supervisor --spec FILE`: runs one step on one node (spawned by craned, never by hand).
// It outlives a craned restart, reports every status change to craned until accepted, and on SIGTERM
// stops its step for the reason craned wrote to the step's `stop` file.
import fs from "node:fs";
import path from "node:path";
import { JobStatus, StepToD } from "../../core/generated/crane/crane";
import type { SupervisorSpec } from "../craned/steps";
import { startContainerStep } from "./container-step";
import { stepEnvironment } from "./env";
import { startPodStep } from "./pod-step";
import { startProcessStep, type RunningProcessStep } from "./process-step";
import { Reporter } from "./report";

export async function runSupervisor(specFile: string): Promise<number> {
  const spec = JSON.parse(fs.readFileSync(specFile, "utf8")) as SupervisorSpec;
  const step = StepToD.fromJSON(spec.step);
  const stepDir = path.dirname(specFile);
  fs.writeFileSync(path.join(stepDir, "supervisor.pid"), String(process.pid));
  process.title = `crane supervisor ${step.jobId}.${step.stepId}`;
  const reporter = new Reporter(spec.cranedSocket, stepDir, { node: spec.node, jobId: step.jobId, stepId: step.stepId });
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} supervisor[${step.jobId}.${step.stepId}] ${msg}\n`);

  const env = stepEnvironment(step, spec.clusterName);
  let running: RunningProcessStep;
  try {
    if (step.stepId === 0 && step.jobType === 2) {
      running = startPodStep({ step, spec, reporter, log });
    } else if (step.containerMeta) {
      running = startContainerStep({ step, spec, env, reporter, log });
    } else {
      running = startProcessStep({ step, node: spec.node, jobCgroup: spec.jobCgroup, stateDir: spec.stateDir, env, reporter });
    }
  } catch (e) {
    log(`cannot start: ${(e as Error).stack}`);
    await reporter.report(JobStatus.Failed, { reason: (e as Error).message });
    reporter.close();
    return 1;
  }

  const onStop = () => {
    let reason = JobStatus.Cancelled;
    try {
      const text = fs.readFileSync(path.join(stepDir, "stop"), "utf8").trim();
      reason = (JobStatus as unknown as Record<string, JobStatus>)[text] ?? JobStatus.Cancelled;
    } catch {
      // no reason written: a plain cancel
    }
    log(`stopping: ${JobStatus[reason]}`);
    running.stop(reason);
  };
  process.on("SIGTERM", onStop);
  process.on("SIGINT", () => undefined);
  process.on("SIGHUP", () => undefined);

  // A pod step only waits for SIGTERM: keep the event loop alive until the step is over.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const result = await running.done;
  clearInterval(keepAlive);
  log(`finished ${JobStatus[result.status]} exit=${result.exitCode} ${result.reason}`);
  await reporter.report(result.status, { exitCode: result.exitCode, reason: result.reason });
  reporter.close();
  return 0;
}
