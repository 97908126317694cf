// What a caller sees of a job (privacy.ts): another user's private fields never leak, the owner/root/admins see
// everything, nobody sees registry credentials, and every field of the proto is classified as public or private.
import { describe, expect, it } from "vitest";
import { ContainerMeta, ImageSpec, JobInfo, JobStatus, JobType, PodMeta, PodMeta_NetworkMode, StepInfo } from "../../../src/core/generated/crane/crane";
import {
  PRIVATE_CONTAINER_FIELDS,
  PRIVATE_JOB_FIELDS,
  PRIVATE_POD_FIELDS,
  PRIVATE_STEP_FIELDS,
  PUBLIC_CONTAINER_FIELDS,
  PUBLIC_IMAGE_FIELDS,
  PUBLIC_JOB_FIELDS,
  PUBLIC_POD_FIELDS,
  PUBLIC_STEP_FIELDS,
  SECRET_IMAGE_FIELDS,
  viewerOf,
  visibleJobInfo,
} from "../../../src/modes/ctld/privacy";

const OWNER = 1001;
const OTHER = 1002;
const ADMIN = 1003;
const config = { adminUids: [ADMIN] };

/** Every private value contains "SECRET", every credential "CREDENTIAL": a leak is a substring search away. */
function containerMeta(tag: string): ContainerMeta {
  return ContainerMeta.fromPartial({
    image: {
      image: "busybox:1.36",
      pullPolicy: "IfNotPresent",
      serverAddress: "registry.example",
      username: `CREDENTIAL-user-${tag}`,
      password: `CREDENTIAL-pass-${tag}`,
    },
    name: `c-${tag}`,
    command: [`/SECRET-command-${tag}`],
    args: [`--SECRET-arg-${tag}`],
    workdir: `/SECRET-workdir-${tag}`,
    env: { SECRET_KEY: `SECRET-env-${tag}` },
    mounts: [{ hostPath: `/home/u/SECRET-mount-${tag}`, containerPath: `/SECRET-cpath-${tag}`, readonly: false }],
    tty: true,
    stdin: true,
    stdinOnce: false,
    detached: true,
  });
}

function step(stepId: number, withContainer: boolean): StepInfo {
  return StepInfo.fromPartial({
    jobId: 7,
    stepId,
    name: `step${stepId}`,
    status: JobStatus.Running,
    type: withContainer ? JobType.Container : JobType.Batch,
    nodes: ["n1"],
    resPerNode: { cpu: 1, memoryBytes: 1024, gres: {} },
    submitTime: 1,
    startTime: 2,
    endTime: 0,
    timeLimitSeconds: 60,
    exitCode: 0,
    reason: "",
    uid: OWNER,
    cmdLine: `SECRET-cmdline-step${stepId}`,
    cwd: `/SECRET-cwd-step${stepId}`,
    argv: [`SECRET-argv-step${stepId}`],
    containerMeta: withContainer ? containerMeta(`step${stepId}`) : undefined,
    containerIds: withContainer ? { n1: "abc123" } : {},
  });
}

function job(): JobInfo {
  return JobInfo.fromPartial({
    jobId: 7,
    name: "train",
    type: JobType.Container,
    uid: OWNER,
    gid: OWNER,
    username: "alice",
    partition: "CPU",
    account: "acct",
    qos: "normal",
    status: JobStatus.Running,
    pendingReason: "",
    reason: "",
    exitCode: 0,
    nodes: ["n1"],
    nodeNum: 1,
    reqPerNode: { cpu: 1, memoryBytes: 1024, gres: {} },
    allocPerNode: { cpu: 1, memoryBytes: 1024, gres: {} },
    ntasks: 1,
    ntasksPerNode: 1,
    cpusPerTask: 1,
    timeLimitSeconds: 60,
    submitTime: 1,
    startTime: 2,
    endTime: 0,
    held: false,
    priority: 5,
    exclusive: false,
    reqNodes: ["n1"],
    excludeNodes: ["n2"],
    cwd: "/home/alice/SECRET-cwd",
    cmdLine: "ccon run SECRET-job-cmdline",
    podMeta: {
      name: "pod",
      network: PodMeta_NetworkMode.POD,
      userns: true,
      runAsUser: 0,
      runAsGroup: 0,
      ports: [{ hostPort: 8080, containerPort: 80, protocol: "TCP", hostIp: "" }],
      dnsServers: ["10.9.9.9-SECRET-dns"],
    },
    steps: [step(0, true), step(1, false), step(2, true)],
  });
}

const text = (info: JobInfo) => JSON.stringify(JobInfo.toJSON(info));

describe("visibleJobInfo", () => {
  it("shows another user nothing private and no credentials", () => {
    const seen = visibleJobInfo(job(), viewerOf(config, OTHER), true);
    expect(text(seen)).not.toMatch(/SECRET|CREDENTIAL/);
  });

  it("keeps what a queue view needs for another user's job", () => {
    const info = job();
    const seen = visibleJobInfo(info, viewerOf(config, OTHER), true);
    for (const k of PUBLIC_JOB_FIELDS) expect(seen[k], k).toEqual(info[k]);
    expect(seen.steps.map((s) => s.stepId)).toEqual([0, 1, 2]);
    for (const [i, s] of seen.steps.entries()) for (const k of PUBLIC_STEP_FIELDS) expect(s[k], `steps[${i}].${k}`).toEqual(info.steps[i]![k]);
    // Container steps stay container steps (ccon ps, cqueue, crane top look at containerMeta and its image).
    expect(seen.steps[2]!.containerMeta?.image?.image).toBe("busybox:1.36");
    expect(seen.steps[2]!.containerMeta?.name).toBe("c-step2");
    expect(seen.steps[2]!.containerMeta?.tty).toBe(true);
    expect(seen.steps[1]!.containerMeta).toBeUndefined();
    expect(seen.podMeta?.ports).toEqual(info.podMeta!.ports);
    expect(seen.podMeta?.name).toBe("pod");
    expect(seen.podMeta?.dnsServers).toEqual([]);
  });

  it("shows the owner, root and admins everything but the credentials", () => {
    for (const uid of [OWNER, 0, ADMIN]) {
      const info = job();
      const seen = visibleJobInfo(info, viewerOf(config, uid), true);
      const t = text(seen);
      expect(t, `uid ${uid}`).not.toMatch(/CREDENTIAL/);
      expect(seen.cwd).toBe(info.cwd);
      expect(seen.cmdLine).toBe(info.cmdLine);
      expect(seen.podMeta).toEqual(info.podMeta);
      expect(seen.steps[2]!.argv).toEqual(info.steps[2]!.argv);
      expect(seen.steps[2]!.containerMeta?.env).toEqual(info.steps[2]!.containerMeta!.env);
      expect(seen.steps[2]!.containerMeta?.mounts).toEqual(info.steps[2]!.containerMeta!.mounts);
      expect(seen.steps[2]!.containerMeta?.image?.username).toBe("");
      expect(seen.steps[2]!.containerMeta?.image?.password).toBe("");
    }
  });

  it("with PrivateData off shows everyone everything but the credentials", () => {
    const info = job();
    const seen = visibleJobInfo(info, viewerOf(config, OTHER), false);
    expect(text(seen)).toMatch(/SECRET/);
    expect(text(seen)).not.toMatch(/CREDENTIAL/);
    expect(seen.cmdLine).toBe(info.cmdLine);
  });

  it("does not change the JobInfo it was given (it is built from ctld's records)", () => {
    const info = job();
    const before = text(info);
    visibleJobInfo(info, viewerOf(config, OTHER), true);
    visibleJobInfo(info, viewerOf(config, OWNER), true);
    expect(text(info)).toBe(before);
  });

  it("classifies every field of JobInfo, StepInfo, ContainerMeta, ImageSpec and PodMeta (a new proto field must be)", () => {
    const classified = (all: object, ...lists: readonly string[][]) => {
      const listed = lists.flat();
      expect(new Set(listed).size, "a field is listed twice").toBe(listed.length);
      expect([...listed].sort()).toEqual(Object.keys(all).sort());
    };
    classified(JobInfo.fromPartial({}), [...PUBLIC_JOB_FIELDS], [...PRIVATE_JOB_FIELDS], ["podMeta", "steps"]);
    classified(StepInfo.fromPartial({}), [...PUBLIC_STEP_FIELDS], [...PRIVATE_STEP_FIELDS], ["containerMeta"]);
    classified(ContainerMeta.fromPartial({}), [...PUBLIC_CONTAINER_FIELDS], [...PRIVATE_CONTAINER_FIELDS], ["image"]);
    classified(ImageSpec.fromPartial({}), [...PUBLIC_IMAGE_FIELDS], [...SECRET_IMAGE_FIELDS]);
    // runAsUser and runAsGroup are optional: absent from an empty PodMeta.
    classified({ ...PodMeta.fromPartial({}), runAsUser: 0, runAsGroup: 0 }, [...PUBLIC_POD_FIELDS], [...PRIVATE_POD_FIELDS]);
  });

  it("leaks no private field that a future filler sets: every non-public field of another user's job is blank", () => {
    const info = job();
    const seen = visibleJobInfo(info, viewerOf(config, OTHER), true);
    const blank = JobInfo.fromPartial({});
    for (const k of PRIVATE_JOB_FIELDS) expect(seen[k], k).toEqual(blank[k]);
    const blankStep = StepInfo.fromPartial({});
    for (const s of seen.steps) for (const k of PRIVATE_STEP_FIELDS) expect(s[k], k).toEqual(blankStep[k]);
    const blankMeta = ContainerMeta.fromPartial({});
    for (const s of seen.steps) if (s.containerMeta) for (const k of PRIVATE_CONTAINER_FIELDS) expect(s.containerMeta[k], k).toEqual(blankMeta[k]);
  });
});
