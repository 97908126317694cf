// What a caller may see of a job (Slurm's PrivateData; design.md, "Who is trusted"): another user's command line,
// arguments, working directory and container command, arguments, environment, mounts and working directory are
// private. What a queue view needs (ids, user, state, partition, nodes, times, resources, names, image name,
// container ids, ports) stays visible. Registry credentials are never returned, to anyone.
//
// The view of another user's job is built from allow-lists: a field added to the proto later stays hidden from
// other users until it is listed here as public (test/unit/ctld/privacy.test.ts makes every field be classified).
import { ContainerMeta, ImageSpec, JobInfo, PodMeta, StepInfo } from "../../core/generated/crane/crane";
import { isAdminUid } from "../../core/identity";

export interface Viewer {
  uid: number;
  /** Root or one of CraneCtld's AdminUids: sees every job whole. */
  privileged: boolean;
}

export function viewerOf(config: { adminUids: readonly number[] }, uid: number): Viewer {
  return { uid, privileged: isAdminUid(uid, config.adminUids) };
}

/** JobInfo fields anyone may see. Everything else of another user's job is blank (or, for steps, filtered). */
export const PUBLIC_JOB_FIELDS = [
  "jobId",
  "name",
  "type",
  "uid",
  "gid",
  "username",
  "partition",
  "account",
  "qos",
  "status",
  "pendingReason",
  "reason",
  "exitCode",
  "nodes",
  "nodeNum",
  "reqPerNode",
  "allocPerNode",
  "ntasks",
  "ntasksPerNode",
  "cpusPerTask",
  "timeLimitSeconds",
  "submitTime",
  "startTime",
  "endTime",
  "held",
  "requeueCount",
  "dependency",
  "beginTime",
  "array",
  "priority",
  "exclusive",
  "reqNodes",
  "excludeNodes",
] as const satisfies readonly (keyof JobInfo)[];

/** JobInfo fields that are another user's own business (podMeta and steps are filtered field by field). */
export const PRIVATE_JOB_FIELDS = ["cwd", "cmdLine"] as const satisfies readonly (keyof JobInfo)[];

export const PUBLIC_STEP_FIELDS = [
  "jobId",
  "stepId",
  "name",
  "status",
  "type",
  "nodes",
  "resPerNode",
  "submitTime",
  "startTime",
  "endTime",
  "timeLimitSeconds",
  "exitCode",
  "reason",
  "uid",
  "containerIds",
  "pty",
] as const satisfies readonly (keyof StepInfo)[];

export const PRIVATE_STEP_FIELDS = ["cmdLine", "cwd", "argv"] as const satisfies readonly (keyof StepInfo)[];

/** A container step stays recognisable as one (ccon ps, cqueue show its image); what it runs and with what is private. */
export const PUBLIC_CONTAINER_FIELDS = ["name", "tty", "stdin", "stdinOnce", "detached"] as const satisfies readonly (keyof ContainerMeta)[];

export const PRIVATE_CONTAINER_FIELDS = ["command", "args", "workdir", "env", "mounts"] as const satisfies readonly (keyof ContainerMeta)[];

/** Of the image, its name and where it comes from; never the credentials (not even for the owner). */
export const PUBLIC_IMAGE_FIELDS = ["image", "pullPolicy", "serverAddress"] as const satisfies readonly (keyof ImageSpec)[];

export const SECRET_IMAGE_FIELDS = ["username", "password"] as const satisfies readonly (keyof ImageSpec)[];

/** Host ports are seen on the node anyway and tell which ports are taken; DNS servers are the owner's setting. */
export const PUBLIC_POD_FIELDS = ["name", "network", "userns", "runAsUser", "runAsGroup", "ports"] as const satisfies readonly (keyof PodMeta)[];

export const PRIVATE_POD_FIELDS = ["dnsServers"] as const satisfies readonly (keyof PodMeta)[];

function pick<T extends object>(blank: T, from: T, keys: readonly (keyof T)[]): T {
  for (const k of keys) if (from[k] !== undefined) blank[k] = from[k];
  return blank;
}

/** The image without its registry credentials. */
function publicImage(image: ImageSpec | undefined): ImageSpec | undefined {
  return image && pick(ImageSpec.fromPartial({}), image, PUBLIC_IMAGE_FIELDS);
}

function ownerStep(s: StepInfo): StepInfo {
  return s.containerMeta ? { ...s, containerMeta: { ...s.containerMeta, image: publicImage(s.containerMeta.image) } } : s;
}

function otherStep(s: StepInfo): StepInfo {
  const out = pick(StepInfo.fromPartial({}), s, PUBLIC_STEP_FIELDS);
  if (s.containerMeta) {
    out.containerMeta = pick(ContainerMeta.fromPartial({}), s.containerMeta, PUBLIC_CONTAINER_FIELDS);
    out.containerMeta.image = publicImage(s.containerMeta.image);
  }
  return out;
}

/**
 * The JobInfo `viewer` may see. The owner, root and admins see it whole (and so does everyone when `privateData` is
 * off, CraneCtld.PrivateData: false); others see it without what is private. Credentials are stripped for all.
 * `info` is not changed.
 */
export function visibleJobInfo(info: JobInfo, viewer: Viewer, privateData: boolean): JobInfo {
  if (!privateData || viewer.privileged || viewer.uid === info.uid) return { ...info, steps: info.steps.map(ownerStep) };
  const out = pick(JobInfo.fromPartial({}), info, PUBLIC_JOB_FIELDS);
  if (info.podMeta) out.podMeta = pick(PodMeta.fromPartial({}), info.podMeta, PUBLIC_POD_FIELDS);
  out.steps = info.steps.map(otherStep);
  return out;
}
