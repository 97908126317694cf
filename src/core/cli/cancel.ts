// ccancel's request from its arguments and filters, and how its reply is told (text and --json).
import type { CancelJobReply, CancelJobRequest } from "../generated/crane/crane";
import { parseJobStepSelectors } from "../parse";
import { CliError } from "./errors";
import { parseStates } from "./filters";

const SELECTOR = /^[1-9]\d*(_\d+)?(\.[1-9]\d*)?(,[1-9]\d*(_\d+)?(\.[1-9]\d*)?)*$/;

export interface CancelFilters {
  name?: string | undefined;
  partition?: string | undefined;
  state?: string | undefined;
  account?: string | undefined;
  user?: string | undefined;
  nodes?: string | undefined;
}

/** The request for `ids` (`12,13.2`, may be empty) and the filters; at least one of them is needed. */
export function cancelRequest(ids: string, f: CancelFilters, signal = ""): CancelJobRequest {
  const anyFilter = f.name || f.partition || f.state || f.account || f.user || f.nodes;
  if (!ids && !anyFilter) throw new CliError("at least one condition should be given.");
  if (ids && !SELECTOR.test(ids)) throw new CliError("job id list must follow the format <job_id>[.<step_id>] or comma-separated list");
  if (f.name && f.name.length > 60) throw new CliError("Invalid job name: name is too long (up to 60).");
  const states = f.state ? parseStates(f.state) : [];
  // One selector per job (or array task), with the steps named for it.
  const byJob = new Map<string, { jobId: number; arrayTaskId?: number; stepIds: number[] }>();
  for (const s of ids ? parseJobStepSelectors(ids) : []) {
    const key = `${s.jobId}_${s.arrayTaskId ?? ""}`;
    const entry = byJob.get(key) ?? { jobId: s.jobId, stepIds: [], ...(s.arrayTaskId !== undefined ? { arrayTaskId: s.arrayTaskId } : {}) };
    if (s.stepId !== undefined) entry.stepIds.push(s.stepId);
    byJob.set(key, entry);
  }
  return {
    jobIds: [...byJob.values()],
    partition: f.partition ?? "",
    name: f.name ?? "",
    user: f.user ?? "",
    account: f.account ?? "",
    state: states.length === 1 ? states[0] : undefined,
    nodes: f.nodes ? f.nodes.split(",") : [],
    signal,
  };
}

/** `ccancel --json`: job id -> what was cancelled (`steps` empty: the whole job) and what was not, and why. */
export interface CancelJson {
  cancelled_steps: Record<string, { steps: number[] }>;
  not_cancelled_job_steps: Record<string, { reason: string; step_ids: number[]; step_reasons: string[] }>;
}

export function cancelJson(r: CancelJobReply): CancelJson {
  const out: CancelJson = { cancelled_steps: {}, not_cancelled_job_steps: {} };
  for (const c of [...r.cancelled].sort((a, b) => a.jobId - b.jobId)) out.cancelled_steps[c.jobId] = { steps: c.stepIds };
  for (const n of [...r.notCancelled].sort((a, b) => a.jobId - b.jobId || a.stepId - b.stepId)) {
    const entry = (out.not_cancelled_job_steps[n.jobId] ??= { reason: "", step_ids: [], step_reasons: [] });
    if (n.stepId) {
      entry.step_ids.push(n.stepId);
      entry.step_reasons.push(n.reason);
    } else {
      entry.reason = n.reason;
    }
  }
  return out;
}

/**
 * The success line (if anything was cancelled, or signalled with `signal`) and one line per failure, as
 * CraneCommand.printOutcome prints them.
 */
export function cancelText(r: CancelJobReply, signal?: string): { done: string[]; failures: string[] } {
  const jobs = r.cancelled.filter((c) => c.stepIds.length === 0).map((c) => String(c.jobId));
  const steps = r.cancelled.flatMap((c) => c.stepIds.map((s) => `${c.jobId}.${s}`));
  const what = [jobs.length ? `Job ${jobs.join(",")}` : "", steps.length ? `Step ${steps.join(",")}` : ""].filter(Boolean).join(" ");
  const done = what ? [signal ? `${what} sent ${signal}.` : `${what} cancelled successfully.`] : [];
  const verb = signal ? "signal" : "cancel";
  const failures = r.notCancelled.map((n) =>
    n.stepId ? `Failed to ${verb} step: ${n.jobId}.${n.stepId}. Reason: ${n.reason}.` : `Failed to ${verb} job: ${n.jobId}. Reason: ${n.reason}.`,
  );
  return { done, failures };
}
