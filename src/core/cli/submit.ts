// Submitting work to ctld, shared by cbatch, crun and ccon run: a new job, or a step of the job the command runs in
// (CRANE_JOB_ID), whose spec takes from the scheduling options only what was given and inherits the rest.
import { StepSpec, type ContainerMeta, type ErrCode, type JobSpec, type JobType } from "../generated/crane/crane";
import { errMessage, type CtldConnection } from "./ctld";
import { CliError, ExitCode } from "./errors";
import { errCodeName } from "./json";
import { applyResourceOptions, baseJobSpec, jobOnlyFlags, type OptionMap } from "./job-options";

/** Flag values as an OptionMap (what the job-options appliers read). */
export function optionMap(values: Record<string, unknown>): OptionMap {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === undefined ? undefined : String(v)]));
}

/** The job-only options (partition, account, ...) that were given: a step cannot have its own. */
export function jobOnlyOptionsGiven(o: OptionMap): string[] {
  return Object.keys(jobOnlyFlags).filter((f) => o[f] !== undefined && o[f] !== "false");
}

export interface StepFields {
  name: string;
  cwd: string;
  cmdLine: string;
  argv?: string[];
  env?: Record<string, string>;
  containerMeta?: ContainerMeta;
  /** Fixed task count (a container step has one task); default: from the options. */
  ntasks?: number;
}

/** A step of job `jobId`: resources from the options given explicitly, the rest (0, empty) inherited from the job. */
export function stepSpec(jobId: number, type: JobType, o: OptionMap, fields: StepFields): StepSpec {
  const res = baseJobSpec(type);
  applyResourceOptions(res, o);
  return StepSpec.fromPartial({
    jobId,
    type,
    name: fields.name,
    nodeNum: res.nodeNum,
    ntasks: fields.ntasks ?? res.ntasks,
    ntasksPerNode: fields.ntasks === undefined ? res.ntasksPerNode : 0,
    cpusPerTask: o["cpus-per-task"] ? res.cpusPerTask : 0,
    memPerNode: res.memPerNode,
    gresPerNode: res.gresPerNode,
    gresGiven: Boolean(o.gres || o["gpus-per-node"]),
    nodelist: res.nodelist,
    excludes: res.excludes,
    timeLimitSeconds: res.timeLimitSeconds,
    cwd: fields.cwd,
    env: fields.env ?? {},
    cmdLine: fields.cmdLine,
    argv: fields.argv ?? [],
    containerMeta: fields.containerMeta,
    overlap: o.overlap === "true",
  });
}

/** Submits a new job; a refusal is `<failure>: <why>` (exit 4). Returns its id. */
export async function submitJob(ctld: CtldConnection, job: JobSpec, what: { context: string; failure: string }): Promise<number> {
  const r = await ctld.call("submitBatchJob", { job }, what.context);
  if (!r.ok) throw new CliError(`${what.failure}: ${errMessage(r.code, r.reason)}`, ExitCode.Backend);
  return r.jobId;
}

/** Submits a step into a running job; a refusal is `<failure>: <why>` (exit 4). Returns the step's id. */
export async function submitStep(ctld: CtldConnection, step: StepSpec, what: { context: string; failure: string }): Promise<number> {
  const r = await ctld.call("submitStep", { step }, what.context);
  if (!r.ok) throw new CliError(`${what.failure}: ${errMessage(r.code, r.reason)}`, ExitCode.Backend);
  return r.stepId;
}

/** `cbatch --json`: the jobs submitted and, per refused submission, why. */
export interface SubmitJson {
  ok: boolean;
  job_ids: number[];
  errors: { code: string; reason: string }[];
}

export function submitJson(jobIds: number[], codes: ErrCode[], reasons: string[]): SubmitJson {
  return { ok: codes.length === 0, job_ids: jobIds, errors: codes.map((c, i) => ({ code: errCodeName(c), reason: reasons[i] ?? "" })) };
}
