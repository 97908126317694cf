// Admission of a step into a running job (crun, ccon run inside a job): who may add it, where it runs and what it
// gets out of the job's allocation. Pure: it throws a Rejection or returns the new (unsaved) step record.
import { ErrCode, JobStatus, JobType, type StepSpec } from "../../core/generated/crane/crane";
import { checkContainer, type AdmissionContext } from "./admission";
import { checkStepSubmission } from "./limits";
import { newStep, type JobRecord, type StepRecord } from "./records";
import { Rejection } from "./rejection";
import type { Resources } from "./scheduler";

export function admitStep(job: JobRecord | undefined, spec: StepSpec, caller: { uid: number }, ctx: AdmissionContext): StepRecord {
  if (!job || job.status === JobStatus.Completing) {
    throw new Rejection(ErrCode.ERR_INVALID_JOB_ID, `job ${spec.jobId} does not exist or is not running`);
  }
  if (caller.uid !== job.spec.uid && caller.uid !== 0) {
    throw new Rejection(ErrCode.ERR_PERMISSION_DENIED, `job ${spec.jobId} belongs to another user; a step must run as the job's user`);
  }
  const isContainer = spec.type === JobType.Container;
  if (isContainer) checkContainerStep(job, spec, ctx);
  if (job.status === JobStatus.Pending) {
    throw new Rejection(ErrCode.ERR_INVALID_JOB_ID, `job ${spec.jobId} is still pending: steps can be added once it runs`);
  }
  const nodes = pickStepNodes(job, spec);
  checkStepSubmission(spec, ctx.config, job.nodes);
  const ntasksPerNode = spec.ntasksPerNode || (spec.ntasks ? Math.ceil(spec.ntasks / nodes.length) : 0);
  const res = stepResources(job, spec, ntasksPerNode);
  const stepId = Math.max(job.nextStepId, 2);
  return newStep({
    stepId,
    name: spec.name || spec.argv[0] || (isContainer ? "container" : "step"),
    type: spec.type,
    uid: job.spec.uid,
    nodes,
    resPerNode: res,
    submitTime: ctx.now,
    timeLimitSeconds: spec.timeLimitSeconds,
    cmdLine: spec.cmdLine,
    cwd: spec.cwd || job.spec.cwd,
    env: spec.env,
    argv: spec.argv,
    ...(spec.pty ? { pty: true } : {}),
    ntasksPerNode: ntasksPerNode || 1,
    // Registry credentials are never saved: the JobManager keeps them in memory until the step is launched.
    containerMeta: spec.containerMeta && {
      ...spec.containerMeta,
      image: spec.containerMeta.image && { ...spec.containerMeta.image, username: "", password: "" },
    },
    io: spec.io,
    isBatchPrimary: false,
    ownShare: spec.overlap ? undefined : namedShare(spec, res),
  });
}

function checkContainerStep(job: JobRecord, spec: StepSpec, ctx: AdmissionContext): void {
  if (!ctx.config.container.enabled) throw new Rejection(ErrCode.ERR_CRI_DISABLED, "CRI support is disabled in the cluster.");
  if (job.spec.type !== JobType.Container) {
    throw new Rejection(
      ErrCode.ERR_JOB_NOT_CONTAINER,
      `job ${job.jobId} is not a container job: submit it with 'ccon run' or 'cbatch --pod' to run container steps in it`,
    );
  }
  if (!spec.containerMeta?.image?.image) throw new Rejection(ErrCode.ERR_INVALID_PARAM, "a container step needs an image");
  checkContainer(ctx, job.spec.podMeta, spec.containerMeta, { uid: job.spec.uid, gid: job.spec.gid, submitDir: spec.cwd || job.spec.submitDir });
}

function pickStepNodes(job: JobRecord, spec: StepSpec): string[] {
  for (const n of spec.nodelist) {
    if (!job.nodes.includes(n)) {
      throw new Rejection(ErrCode.ERR_NO_ENOUGH_NODE, `node "${n}" is not allocated to job ${job.jobId} (its nodes: ${job.nodes.join(",") || "none yet"})`);
    }
  }
  const candidates = job.nodes.filter((n) => !spec.excludes.includes(n));
  const want = spec.nodeNum || (spec.nodelist.length > 0 ? spec.nodelist.length : candidates.length);
  if (want > candidates.length) {
    throw new Rejection(ErrCode.ERR_NO_ENOUGH_NODE, `step asks for ${want} nodes but job ${job.jobId} has ${candidates.length} usable`);
  }
  const chosen = [...spec.nodelist];
  for (const n of candidates) {
    if (chosen.length >= want) break;
    if (!chosen.includes(n)) chosen.push(n);
  }
  return chosen;
}

/** The part of `res` the step named; undefined when it named nothing. */
function namedShare(spec: StepSpec, res: Resources): Resources | undefined {
  if (!(spec.cpusPerTask > 0 || spec.memPerNode > 0 || spec.gresGiven)) return undefined;
  return { cpu: spec.cpusPerTask > 0 ? res.cpu : 0, memoryBytes: spec.memPerNode > 0 ? res.memoryBytes : 0, gres: spec.gresGiven ? res.gres : {} };
}

/** What the step asks for on each node (the whole allocation unless it says), refused beyond the job's. */
function stepResources(job: JobRecord, spec: StepSpec, ntasksPerNode: number): Resources {
  const alloc = job.allocPerNode;
  const cpusPerTask = spec.cpusPerTask || 0;
  const res: Resources = {
    cpu: cpusPerTask ? cpusPerTask * (ntasksPerNode || 1) : alloc.cpu,
    memoryBytes: spec.memPerNode || alloc.memoryBytes,
    gres: spec.gresGiven ? { ...spec.gresPerNode } : { ...alloc.gres },
  };
  const beyond: string[] = [];
  if (res.cpu > alloc.cpu + 1e-9) beyond.push(`${res.cpu} CPUs per node > job's ${alloc.cpu}`);
  if (res.memoryBytes > alloc.memoryBytes) beyond.push(`memory ${res.memoryBytes} B per node > job's ${alloc.memoryBytes} B`);
  for (const [k, v] of Object.entries(res.gres)) {
    if (v > (alloc.gres[k] ?? 0)) beyond.push(`${k}:${v} > job's ${alloc.gres[k] ?? 0}`);
  }
  if (beyond.length > 0) throw new Rejection(ErrCode.ERR_STEP_RES_BEYOND, `Step resource request exceeds the job's allocation: ${beyond.join("; ")}`);
  return res;
}
