// Queries shared by the ccon subcommands: container jobs and their container steps.
import { JobStatus, JobType, type JobInfo, type StepInfo } from "../generated/crane/crane";
import { currentIdentity, currentUsername } from "../identity";
import { ParseError, parseContainerId } from "../parse";
import type { CtldConnection } from "./ctld";
import { CliError, ExitCode } from "./errors";

export async function queryContainerJobs(ctld: CtldConnection, opts: { all: boolean; jobIds?: number[]; mineOnly?: boolean }): Promise<JobInfo[]> {
  const r = await ctld.call(
    ctld.client.queryJobsInfo,
    {
      jobIds: (opts.jobIds ?? []).map((jobId) => ({ jobId, stepIds: [] })),
      states: [],
      users: opts.mineOnly !== false && currentIdentity().uid !== 0 ? [currentUsername()] : [],
      partitions: [],
      names: [],
      types: [JobType.Container],
      includeCompleted: opts.all,
      limit: 0,
      nodes: [],
    },
    "Failed to query container jobs",
  );
  if (!r.ok) throw new CliError("", ExitCode.Backend);
  return r.jobs;
}

/** Parses JOBID.STEPID; step 0 (the pod) is refused with `step0Message`. */
export function parseContainerArg(arg: string, step0Message: string, exitCode: number = ExitCode.Generic): { jobId: number; stepId: number } {
  let id;
  try {
    id = parseContainerId(arg);
  } catch (e) {
    if (e instanceof ParseError) throw new CliError(`invalid container id: ${e.message}`, exitCode);
    throw e;
  }
  if (id.stepId === 0) throw new CliError(step0Message);
  return id;
}

export async function findContainerStep(
  ctld: CtldConnection,
  jobId: number,
  stepId: number,
  all = true,
  mineOnly = true,
): Promise<{ job: JobInfo; step: StepInfo } | undefined> {
  const jobs = await queryContainerJobs(ctld, { all, jobIds: [jobId], mineOnly });
  const job = jobs.find((j) => j.jobId === jobId);
  const step = job?.steps.find((s) => s.stepId === stepId);
  return job && step ? { job, step } : undefined;
}

export function isActive(status: JobStatus): boolean {
  return [JobStatus.Pending, JobStatus.Configuring, JobStatus.Starting, JobStatus.Running, JobStatus.Completing].includes(status);
}

/** The node to talk to for a step: the given one (checked), else its only node. */
export function resolveTargetNode(step: StepInfo, target: string | undefined): string {
  if (target) {
    if (step.nodes.length && !step.nodes.includes(target)) {
      throw new CliError(`container is not running on the target node "${target}": ${step.nodes.join(",")}`);
    }
    return target;
  }
  if (step.nodes.length === 0) throw new CliError("execution node list of this step is empty", ExitCode.Backend);
  if (step.nodes.length > 1) {
    throw new CliError(`container is running on multiple nodes: ${step.nodes.join(",")}; please specify --target-node to select one`);
  }
  return step.nodes[0]!;
}
