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
import { DEFAULT_STOP_GRACE_SECONDS, startProcessStep, type RunningProcessStep } from "./process-step";
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
    // Whatever is still to be reported is saved in result.json by then: do not wait for a craned that may be gone.
    reporter.stopRetrying();
    if (finished) return;
    const { reason, graceSeconds } = readStopFile(path.join(stepDir, "stop"));
    log(`stopping: ${JobStatus[reason]} (SIGKILL after ${graceSeconds} s)`);
    running.stop(reason, graceSeconds);
  };
  let finished = false;
  process.on("SIGTERM", onStop);
  process.on("SIGINT", () => undefined);
  process.on("SIGHUP", () => undefined);

  // A pod step only waits for SIGTERM: keep the event loop alive until the step is over.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const result = await running.done;
  finished = true;
  clearInterval(keepAlive);
  log(`finished ${JobStatus[result.status]} exit=${result.exitCode} ${result.reason}`);
  await reporter.report(result.status, { exitCode: result.exitCode, reason: result.reason });
  reporter.close();
  return 0;
}

/**
 * Why and how to stop, as craned wrote it before its SIGTERM: `{"reason":"Cancelled","graceSeconds":10}`
 * (or, from an older craned, just the reason's name). No file: a plain cancel with the default grace.
 */
export function readStopFile(file: string): { reason: JobStatus; graceSeconds: number } {
  const byName = (name: unknown) => (JobStatus as unknown as Record<string, JobStatus>)[String(name)] ?? JobStatus.Cancelled;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8").trim();
  } catch {
    return { reason: JobStatus.Cancelled, graceSeconds: DEFAULT_STOP_GRACE_SECONDS };
  }
  try {
    const v = JSON.parse(text) as { reason?: string; graceSeconds?: number };
    const grace = Number.isFinite(v.graceSeconds) && v.graceSeconds! >= 0 ? v.graceSeconds! : DEFAULT_STOP_GRACE_SECONDS;
    return { reason: byName(v.reason), graceSeconds: grace };
  } catch {
    return { reason: byName(text), graceSeconds: DEFAULT_STOP_GRACE_SECONDS };
  }
}
