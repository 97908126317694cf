// Queries shared by the ccon subcommands: container jobs, their container steps, and containers by name.
import { JobStatus, JobType, type JobInfo, type StepInfo } from "../generated/crane/crane";
import { currentIdentity, currentUsername } from "../identity";
import { ParseError, formatAgo, parseContainerId } from "../parse";
import type { CtldConnection } from "./ctld";
import { CliError, ExitCode } from "./errors";
import { rfc3339, statusName } from "./json";
import { renderTable } from "./table";

export async function queryContainerJobs(ctld: CtldConnection, opts: { all: boolean; jobIds?: number[]; mineOnly?: boolean }): Promise<JobInfo[]> {
  const r = await ctld.call(
    "queryJobsInfo",
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

export interface ContainerRef {
  jobId: number;
  stepId: number;
}

/** Container steps (the pod, step 0, is not one) named `name` at `ccon run --name`, newest first. */
function namedContainers(jobs: JobInfo[], name: string): { job: JobInfo; step: StepInfo }[] {
  return jobs
    .flatMap((job) => job.steps.filter((s) => s.stepId !== 0 && s.containerMeta?.name === name).map((step) => ({ job, step })))
    .sort((a, b) => b.job.jobId - a.job.jobId || b.step.stepId - a.step.stepId);
}

/**
 * The container a name stands for: the one container of that name, else the one still active among several
 * (a finished `web` and the `web` started again); anything else is an error that lists the candidates.
 */
export function matchContainerName(jobs: JobInfo[], name: string, opts: { running: boolean }): ContainerRef {
  const all = namedContainers(jobs, name);
  const active = all.filter((c) => isActive(c.step.status));
  const candidates = opts.running ? active : all;
  const pick = candidates.length === 1 ? candidates[0] : active.length === 1 ? active[0] : undefined;
  if (pick) return { jobId: pick.job.jobId, stepId: pick.step.stepId };
  if (candidates.length === 0) {
    const which = opts.running ? "running container" : "container";
    throw new CliError(
      `no ${which} named "${name}" (see 'ccon ps${opts.running ? "" : " -a"}'; a container is named with 'ccon run --name')`,
      ExitCode.Backend,
    );
  }
  const listed = candidates.map((c) => `${c.job.jobId}.${c.step.stepId} (${JobStatus[c.step.status] ?? c.step.status})`).join(", ");
  throw new CliError(`container name "${name}" is ambiguous: ${listed}; give its JOBID.STEPID instead`, ExitCode.CmdArg);
}

/** Whether a container argument is an id (`12.1`; malformed ids such as `12` or `12.` too) rather than a name. */
export function isContainerIdArg(arg: string): boolean {
  return /^[\d.]+$/.test(arg);
}

/**
 * A container argument (JOBID.STEPID, or a name given with `ccon run --name`) as an id. Names are looked up among
 * the caller's container jobs (everybody's for root); `running`: only active ones are candidates.
 */
export async function resolveContainerArg(
  ctld: CtldConnection,
  arg: string,
  opts: { running: boolean; step0Message: string; exitCode?: number },
): Promise<ContainerRef> {
  if (isContainerIdArg(arg)) return parseContainerArg(arg, opts.step0Message, opts.exitCode);
  const jobs = await queryContainerJobs(ctld, { all: !opts.running });
  return matchContainerName(jobs, arg, opts);
}

/** One line of `ccon ps` (and of its --json). */
export interface ContainerListJson {
  container: string;
  name: string;
  image: string;
  command: string[];
  submit_time: string | null;
  status: string;
  exit_code: number;
  reason: string;
  nodes: string[];
}

/** The container steps of the jobs, newest first, as `ccon ps` lists them. */
export function containerList(jobs: JobInfo[]): ContainerListJson[] {
  return jobs
    .flatMap((j) => j.steps.filter((s) => s.stepId !== 0 && s.containerMeta).map((s) => ({ j, s })))
    .sort((a, b) => b.j.jobId - a.j.jobId || b.s.stepId - a.s.stepId)
    .map(({ j, s }) => ({
      container: `${j.jobId}.${s.stepId}`,
      name: s.containerMeta?.name ?? "",
      image: s.containerMeta?.image?.image ?? "",
      command: [...(s.containerMeta?.command ?? []), ...(s.containerMeta?.args ?? [])],
      submit_time: rfc3339(s.submitTime || j.submitTime),
      status: statusName(s.status),
      exit_code: s.exitCode,
      reason: s.reason,
      nodes: s.nodes.length ? s.nodes : j.nodes,
    }));
}

/** A command line cut for a table cell: whitespace collapsed, at most 20 characters. */
export function shortCommand(words: string[]): string {
  const s = words.join(" ").replace(/\s+/g, " ").trim();
  if (!s) return "-";
  return s.length > 20 ? `${s.slice(0, 17)}...` : s;
}

/** The `ccon ps` table. */
export function renderContainerList(rows: ContainerListJson[], now: number): string {
  const cells = rows.map((r) => [
    r.container,
    r.name || "-",
    r.image,
    shortCommand(r.command),
    formatAgo(r.submit_time ? Date.parse(r.submit_time) : 0, now),
    r.status.toUpperCase() + (r.exit_code && r.status !== "Running" ? ` (${r.exit_code})` : ""),
    r.nodes.join(","),
    r.reason || "-",
  ]);
  return renderTable(["CONTAINER", "NAMES", "IMAGE", "COMMAND", "CREATED", "STATUS", "NODELIST", "REASON"], cells, { trimAt: 60 }).trimEnd();
}
