// Step 0 of a container job: creates the job's pod on this node inside the job's cgroup, records it for the
// job's container steps (<state>/jobs/<job>/pod.json), holds it while the job runs and removes it (with every
// container in it) when craned stops the step at the end of the job.
import fs from "node:fs";
import { destroyPodSandbox, runPodSandbox, criErrorMessage } from "../../core/cri";
import { JobStatus } from "../../core/generated/crane/crane";
import { readJson, writeWhole } from "../../core/node/layout";
import { podLogDir, podSandboxConfig } from "./pod-config";
import type { RunningStep, StepContext, StepOutcome } from "./running-step";

export interface PodRecord {
  podId: string;
  config: ReturnType<typeof podSandboxConfig>;
}

/**
 * The job's pod on this node, once step 0 has created it. A container primary starts along with its pod (its image
 * is made ready meanwhile), so it may have to wait; it stops waiting when `stopped()` holds (the job ended: a pod
 * that failed ends the job).
 */
export async function waitForPodRecord(file: string, stopped: () => boolean): Promise<PodRecord | undefined> {
  for (;;) {
    const record = readJson<PodRecord>(file); // written whole, by rename
    if (record) return record;
    if (stopped()) return undefined;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** containerd 1.6 has no CRI user namespaces; say so before the runtime fails obscurely. */
function checkUserNamespaceSupport(runtimeVersion: string): void {
  const [major, minor] = runtimeVersion.replace(/^v/, "").split(".").map(Number);
  if (major! > 1 || (major === 1 && minor! >= 7)) return;
  throw new Error(
    `user namespaces (--userns / --pod-userns) need containerd >= 1.7, but this node runs containerd ${runtimeVersion}; ` +
      "submit without --userns (use --userns=false or --pod-userns=false), or upgrade the node's containerd",
  );
}

export function startPodStep(ctx: StepContext): RunningStep {
  const { spec, layout, reporter, log } = ctx;
  const step = spec.step;
  const cri = ctx.cri();
  const subject = `job ${step.jobId} on node ${spec.node}`;
  const file = layout.podFile(step.jobId);
  let podId = "";
  let stopped: JobStatus | undefined;
  let release!: () => void;
  const stopRequested = new Promise<void>((r) => (release = r));

  const done = (async (): Promise<StepOutcome> => {
    if (ctx.resume) {
      // Started by an earlier supervisor: the pod is in the runtime if its record was written.
      podId = readJson<PodRecord>(file)?.podId ?? "";
      if (!podId) return { status: JobStatus.Failed, exitCode: 0, reason: `the node's supervisor restarted while the pod for ${subject} was being created` };
    } else {
      try {
        if (step.podMeta?.userns) checkUserNamespaceSupport((await cri.version()).runtimeVersion);
        const config = podSandboxConfig(step, spec);
        fs.mkdirSync(podLogDir(spec, step.jobId), { recursive: true });
        podId = await runPodSandbox(cri, config, { subject });
        fs.mkdirSync(layout.jobDir(step.jobId), { recursive: true });
        // Written whole, since the job's container steps may be waiting for it already.
        const record: PodRecord = { podId, config };
        writeWhole(
          file,
          JSON.stringify(record, (_, v) => (typeof v === "bigint" ? Number(v) : v)),
        );
        log(`pod ${podId.slice(0, 12)} running`);
        await reporter.report(JobStatus.Running);
      } catch (e) {
        const reason = `failed to create the pod for ${subject}: ${criErrorMessage(e)}`;
        if (podId) await destroyPodSandbox(cri, podId).catch(() => undefined);
        return { status: JobStatus.Failed, exitCode: 0, reason };
      }
    }
    await stopRequested;
    try {
      await destroyPodSandbox(cri, podId, { subject });
      log(`pod ${podId.slice(0, 12)} removed`);
    } catch (e) {
      log(`removing the pod failed: ${criErrorMessage(e)}`);
    }
    return { status: stopped === JobStatus.Cancelled ? JobStatus.Completed : (stopped ?? JobStatus.Completed), exitCode: 0, reason: "" };
  })();

  return {
    done,
    stop(reason) {
      stopped = reason;
      release();
    },
    signal: () => Promise.resolve("a job's pod runs no process of the user's to signal"),
  };
}
