// Step 0 of a container job: creates the job's pod on this node inside the job's cgroup, records it for the
// job's container steps (<state>/jobs/<job>/pod.json), holds it while the job runs and removes it (with every
// container in it) when craned stops the step at the end of the job.
import fs from "node:fs";
import path from "node:path";
import { connectCri, destroyPodSandbox, runPodSandbox, criErrorMessage } from "../../core/cri";
import { JobStatus, type StepToD } from "../../core/generated/crane/crane";
import type { SupervisorSpec } from "../craned/steps";
import { podLogDir, podSandboxConfig } from "./pod-config";
import type { RunningProcessStep } from "./process-step";
import type { Reporter } from "./report";

export interface PodRecord {
  podId: string;
  config: ReturnType<typeof podSandboxConfig>;
}

export function podRecordPath(stateDir: string, jobId: number): string {
  return path.join(stateDir, "jobs", String(jobId), "pod.json");
}

/**
 * The job's pod on this node, once step 0 has created it. A container primary starts along with its pod (its image
 * is made ready meanwhile), so it may have to wait; it stops waiting when `stopped()` holds (the job ended: a pod
 * that failed ends the job).
 */
export async function waitForPodRecord(stateDir: string, jobId: number, stopped: () => boolean): Promise<PodRecord | undefined> {
  const file = podRecordPath(stateDir, jobId);
  for (;;) {
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as PodRecord;
    } catch {
      // not there yet (it is written whole, by rename)
    }
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

export function startPodStep(opts: { step: StepToD; spec: SupervisorSpec; reporter: Reporter; log: (m: string) => void }): RunningProcessStep {
  const { step, spec, reporter, log } = opts;
  const cri = connectCri({ runtimeEndpoint: spec.container.runtimeEndpoint, imageEndpoint: spec.container.imageEndpoint, nodeName: spec.node, timeoutMs: 30_000 });
  const subject = `job ${step.jobId} on node ${spec.node}`;
  let podId = "";
  let stopped: JobStatus | undefined;
  let release!: () => void;
  const stopRequested = new Promise<void>((r) => (release = r));

  const done = (async () => {
    try {
      if (step.podMeta?.userns) checkUserNamespaceSupport((await cri.version()).runtimeVersion);
      const config = podSandboxConfig(step, spec);
      fs.mkdirSync(podLogDir(spec, step.jobId), { recursive: true });
      podId = await runPodSandbox(cri, config, { subject });
      const record: PodRecord = { podId, config };
      const file = podRecordPath(spec.stateDir, step.jobId);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // Written whole (rename), since the job's container steps may be waiting for it already.
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(record, (_, v) => (typeof v === "bigint" ? Number(v) : v)));
      fs.renameSync(`${file}.tmp`, file);
      log(`pod ${podId.slice(0, 12)} running`);
      await reporter.report(JobStatus.Running);
    } catch (e) {
      const reason = `failed to create the pod for ${subject}: ${criErrorMessage(e)}`;
      if (podId) await destroyPodSandbox(cri, podId).catch(() => undefined);
      cri.close();
      return { status: JobStatus.Failed, exitCode: 0, reason };
    }
    await stopRequested;
    try {
      await destroyPodSandbox(cri, podId, { subject });
      log(`pod ${podId.slice(0, 12)} removed`);
    } catch (e) {
      log(`removing the pod failed: ${criErrorMessage(e)}`);
    }
    cri.close();
    return { status: stopped === JobStatus.Cancelled ? JobStatus.Completed : (stopped ?? JobStatus.Completed), exitCode: 0, reason: "" };
  })();

  return {
    done,
    stop(reason) {
      stopped = reason;
      release();
    },
  };
}
