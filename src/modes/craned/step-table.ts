// The steps a craned holds, from the moment ctld dispatches one until ctld frees its job: what the supervisor last
// reported for each, whether its end was seen (its output is then complete) and whether ctld has that end.
// Freeing a job stops its ordinary steps first and its pod (step 0) last, so containers stop before their sandbox.
import { JobStatus, type StepStatusChangeRequest } from "../../core/generated/crane/crane";
import { isTerminal } from "../../core/job-state";
import { DAEMON_STEP_ID, stepKey } from "../../core/node/layout";

export interface LocalStep {
  jobId: number;
  stepId: number;
  status: JobStatus;
  /** Its terminal report reached craned: the step is over on this node and its log is whole. */
  ended: boolean;
  /** ctld accepted that terminal report. */
  delivered: boolean;
}

/** How long freeing a job waits for each group of its steps to end, and how often it repeats the stop meanwhile. */
export const FREE_WAIT_MS = 30_000;
const RESTOP_EVERY_MS = 2_000;

export class StepTable {
  private steps = new Map<string, LocalStep>();

  get(jobId: number, stepId: number): LocalStep | undefined {
    return this.steps.get(stepKey(jobId, stepId));
  }

  has(jobId: number, stepId: number): boolean {
    return this.steps.has(stepKey(jobId, stepId));
  }

  add(jobId: number, stepId: number, status: JobStatus): LocalStep {
    const step: LocalStep = { jobId, stepId, status, ended: false, delivered: false };
    this.steps.set(stepKey(jobId, stepId), step);
    return step;
  }

  all(): LocalStep[] {
    return [...this.steps.values()];
  }

  ofJob(jobId: number): LocalStep[] {
    return this.all().filter((s) => s.jobId === jobId);
  }

  /** True when the step's output will not grow any more (or the step is not, or no longer, here). */
  isOutputComplete(jobId: number, stepId: number): boolean {
    const s = this.get(jobId, stepId);
    return !s || s.ended;
  }

  /** Records a report and forwards it; true once ctld has it (the supervisor retries until then). */
  async report(r: StepStatusChangeRequest, forward: (r: StepStatusChangeRequest) => Promise<boolean>): Promise<boolean> {
    const local = this.get(r.jobId, r.stepId) ?? this.add(r.jobId, r.stepId, r.status);
    if (isTerminal(r.status)) local.ended = true;
    if (!(await forward(r))) return false;
    local.status = r.status;
    if (isTerminal(r.status)) local.delivered = true;
    return true;
  }

  /**
   * Ends a job's steps on this node: `stop` is asked for each ordinary step, then (once they ended, or after
   * FREE_WAIT_MS) for the pod; the stop is repeated while waiting, since a supervisor that restarted meanwhile has
   * not heard it. Returns the ids of the job's steps, which the caller then forgets with `forgetJob`.
   */
  async endJob(jobId: number, stop: (stepId: number) => Promise<void>, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<number[]> {
    const mine = this.ofJob(jobId);
    for (const group of [mine.filter((s) => s.stepId !== DAEMON_STEP_ID), mine.filter((s) => s.stepId === DAEMON_STEP_ID)]) {
      for (let waited = 0; group.some((s) => !s.ended) && waited < FREE_WAIT_MS;) {
        if (waited % RESTOP_EVERY_MS === 0) await Promise.all(group.filter((s) => !s.ended).map((s) => stop(s.stepId).catch(() => undefined)));
        await sleep(50);
        waited += 50;
      }
    }
    return mine.map((s) => s.stepId);
  }

  forgetStep(jobId: number, stepId: number): void {
    this.steps.delete(stepKey(jobId, stepId));
  }

  forgetJob(jobId: number): void {
    for (const s of this.ofJob(jobId)) this.steps.delete(stepKey(s.jobId, s.stepId));
  }
}
