// A container step: a container in the job's pod on this node. Reports Starting while the image is made
// present (pull policy, with the registry credentials that came with the step), Running once started, and
// the container's exit code (OutOfMemory when the memory limit killed it) when it ends.
import {
  containerStatus,
  createContainer,
  criErrorMessage,
  ensureImage,
  parsePullPolicy,
  removeContainer,
  signalContainer,
  type CriClient,
  startContainer,
  stopContainer,
} from "../../core/cri";
import { ContainerState } from "../../core/generated/cri/api";
import { JobStatus, type StepToD } from "../../core/generated/crane/crane";
import { CgroupUsageMeter } from "../../core/cgroup";
import { checkContainerPolicy, resolveMountsOnNode } from "../../core/container-policy";
import { isAdminUid } from "../../core/identity";
import { stepCredentials, type StepCredentials } from "./credentials";
import { containerConfig } from "./pod-config";
import { readJson, writeWhole } from "../../core/node/layout";
import { waitForPodRecord } from "./pod-step";
import { DEFAULT_STOP_GRACE_SECONDS, type RunningStep, type StepContext, type StepOutcome } from "./running-step";

// How often the container's state is read: often at first, so that a short-lived container's end is seen at once,
// then at a pace that costs the runtime nothing.
const FAST_POLL_MS = 20;
const FAST_POLL_FOR_MS = 3_000;
const POLL_MS = 100;
// How often a running container's cgroup is read for its usage (the runtime removes the cgroup as the container exits).
const USAGE_SAMPLE_MS = 250;

/**
 * Reads back the process credentials the runtime put in the container's OCI spec, before it starts: the runtime
 * adds the groups that the image's own /etc/group gives the user, and an image must not hand a user root's
 * group (or any group the user does not have on the node). Root's jobs and user namespaces are not checked.
 */
async function verifyRuntimeSpec(cri: CriClient, containerId: string, step: StepToD, who: StepCredentials): Promise<void> {
  if (who.uid === 0 || step.podMeta?.userns) return;
  const res = await containerStatus(cri, containerId, { verbose: true });
  let user: { uid?: number; gid?: number; additionalGids?: number[] } | undefined;
  let noNewPrivileges: boolean | undefined;
  let bounding: string[] | undefined;
  try {
    const info = JSON.parse(res?.info.info ?? "{}") as {
      runtimeSpec?: { process?: { user?: typeof user; noNewPrivileges?: boolean; capabilities?: { bounding?: string[] } } };
    };
    user = info.runtimeSpec?.process?.user;
    noNewPrivileges = info.runtimeSpec?.process?.noNewPrivileges;
    bounding = info.runtimeSpec?.process?.capabilities?.bounding;
  } catch {
    user = undefined;
  }
  const strangers = (user?.additionalGids ?? []).filter((g) => !who.groups.includes(g));
  const problem = !user
    ? "the runtime did not report the container's process credentials"
    : user.uid !== who.uid || user.gid !== who.gid
      ? `the runtime would run it as ${user.uid}:${user.gid}, not as the job's ${who.uid}:${who.gid}`
      : strangers.length > 0
        ? `the image's /etc/group would give the user groups it does not have on this node (${strangers.join(", ")})`
        : noNewPrivileges !== true || (bounding ?? []).length > 0
          ? "the runtime did not drop every capability and set no_new_privs"
          : undefined;
  if (problem) {
    await removeContainer(cri, containerId).catch(() => undefined);
    throw new Error(`container refused: ${problem}`);
  }
}

export function startContainerStep(ctx: StepContext): RunningStep {
  const { spec, layout, reporter, log } = ctx;
  const step = spec.step;
  const cm = step.containerMeta!;
  const cri = ctx.cri();
  const subject = `job ${step.jobId} step ${step.stepId}`;
  const containerFile = layout.containerFile(step.jobId, step.stepId);
  let containerId = "";
  let stopReason: JobStatus | undefined;
  let stopGrace = DEFAULT_STOP_GRACE_SECONDS;
  let finished = false;

  /** Creates and starts the container; undefined when it is under way, an outcome when it ended before starting. */
  const create = async (): Promise<StepOutcome | undefined> => {
    void reporter.report(JobStatus.Starting); // in order with the later reports, without waiting for ctld
    // ctld checked the request at admission; the node checks it again, with its own users and file system.
    const who = stepCredentials(step, spec.node);
    const policySubject = {
      uid: who.uid,
      gid: who.gid,
      home: who.user?.home ?? "",
      submitDir: step.cwd || step.submitDir,
      isAdmin: isAdminUid(who.uid, spec.adminUids ?? []),
    };
    checkContainerPolicy(step.podMeta, cm, policySubject, spec.container);
    const mounts = resolveMountsOnNode(cm, policySubject, spec.container);
    const image = cm.image!;
    const auth = image.username ? { username: image.username, password: image.password, serverAddress: image.serverAddress } : undefined;
    // The image is made ready while the pod may still be being created (a primary starts along with its pod).
    const [{ imageRef }, pod] = await Promise.all([
      ensureImage(cri, image.image, parsePullPolicy(image.pullPolicy || "IfNotPresent"), { subject, auth }),
      waitForPodRecord(layout.podFile(step.jobId), () => stopReason !== undefined),
    ]);
    if (stopReason !== undefined || !pod) return { status: stopReason ?? JobStatus.Cancelled, exitCode: 0, reason: "stopped before it started" };
    containerId = await createContainer(cri, pod.podId, containerConfig(step, spec, ctx.env, imageRef, who, mounts), pod.config, { subject });
    await verifyRuntimeSpec(cri, containerId, step, who);
    await startContainer(cri, containerId, { subject });
    // A stop that arrived while the container was being created found no container to stop.
    if (stopReason !== undefined) stopContainer(cri, containerId, stopGrace).catch((e) => log(`stop failed: ${criErrorMessage(e)}`));
    writeWhole(containerFile, JSON.stringify({ containerId }));
    log(`container ${containerId.slice(0, 12)} running`);
    await reporter.report(JobStatus.Running, { containerId });
    return undefined;
  };

  const awaitExit = async (): Promise<StepOutcome> => {
    const since = performance.now();
    // The runtime puts the container's cgroup under the pod's parent, the job's cgroup, named by the container id.
    const meter = new CgroupUsageMeter(`${spec.jobCgroup}/${containerId}`);
    let sampledAt = since;
    let away = 0; // consecutive failed status reads: the runtime is restarting or unreachable
    for (;;) {
      let res: Awaited<ReturnType<typeof containerStatus>>;
      try {
        res = await containerStatus(cri, containerId);
      } catch (e) {
        // The runtime is away, not the container (its shim holds it): ask again, less and less often.
        if (away++ === 0) log(`the runtime does not answer (${criErrorMessage(e)}); waiting for it`);
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** away, 2_000)));
        continue;
      }
      if (away > 0) log("the runtime answers again");
      away = 0;
      const st = res?.status;
      if (!res) {
        // Gone: the pod was removed under us (job ended) or the runtime lost it.
        return { status: stopReason ?? JobStatus.Failed, exitCode: 0, reason: stopReason ? "" : "the container disappeared from the runtime" };
      }
      if (st && st.state === ContainerState.CONTAINER_EXITED) {
        const oom = st.reason === "OOMKilled";
        const exitCode = st.exitCode;
        let status = oom ? JobStatus.OutOfMemory : exitCode === 0 ? JobStatus.Completed : JobStatus.Failed;
        if (stopReason !== undefined) status = stopReason;
        const reason = oom ? "killed by the memory limit (OOM)" : exitCode !== 0 ? `exited with code ${exitCode}${st.message ? `: ${st.message}` : ""}` : "";
        return { status, exitCode, reason, usage: meter.stop() };
      }
      if (performance.now() - sampledAt >= USAGE_SAMPLE_MS) {
        meter.sample();
        sampledAt = performance.now();
      }
      await new Promise((r) => setTimeout(r, performance.now() - since < FAST_POLL_FOR_MS ? FAST_POLL_MS : POLL_MS));
    }
  };

  const done = (async (): Promise<StepOutcome> => {
    if (ctx.resume) {
      // Started by an earlier supervisor: the runtime holds the container, if it got that far.
      containerId = readJson<{ containerId: string }>(containerFile)?.containerId ?? "";
      if (!containerId) return { status: JobStatus.Failed, exitCode: 0, reason: "the node's supervisor restarted while the container was being created" };
    } else {
      try {
        const ended = await create();
        if (ended) return ended;
      } catch (e) {
        return { status: stopReason ?? JobStatus.Failed, exitCode: 0, reason: criErrorMessage(e) };
      }
    }
    return awaitExit();
  })();

  return {
    done: done.finally(() => (finished = true)),
    stop(reason, graceSeconds = DEFAULT_STOP_GRACE_SECONDS) {
      stopReason = reason;
      stopGrace = graceSeconds;
      if (containerId && !finished) {
        // CRI StopContainer: SIGTERM (or the image's stop signal), SIGKILL once the timeout is over.
        stopContainer(cri, containerId, graceSeconds).catch((e) => log(`stop failed: ${criErrorMessage(e)}`));
      }
    },
    signal(signal) {
      if (!containerId || finished) return Promise.resolve(`the container of ${subject} is not running`);
      return signalContainer(spec.container.runtimeEndpoint, containerId, signal);
    },
  };
}
