// craned's gRPC service: ctld's calls (on the node's port, with the node's key) and the supervisor's reports (on
// craned's root-only socket). It translates calls into the step table, the node's supervisor and the runtime.
import * as grpc from "@grpc/grpc-js";
import fs from "node:fs";
import { createJobCgroup, destroyCgroup, jobCgroupPath } from "../../core/cgroup";
import type { CraneConfig } from "../../core/config";
import { ErrCode, JobStatus, type StepStatusChangeRequest, type StepToD } from "../../core/generated/crane/crane";
import { type CranedServer } from "../../core/generated/crane/services";
import type { Logger } from "../../core/log";
import { isPodStep, ptySessionPath, type NodeLayout } from "../../core/node/layout";
import { waitWhileCallOpen } from "../../core/rpc";
import { signalName } from "../../core/signals";
import { streamStepLog } from "./logs";
import { removeJobPods, streamUrl } from "./runtime";
import type { StepTable } from "./step-table";
import type { NodeSupervisor } from "./supervisor-client";
import type { StreamProxy } from "./stream-proxy";

export interface CranedDeps {
  config: CraneConfig;
  node: string;
  layout: NodeLayout;
  steps: StepTable;
  supervisor: NodeSupervisor;
  /** Forwards a report to ctld; true once ctld accepted it. */
  forward: (r: StepStatusChangeRequest) => Promise<boolean>;
  streamProxy: () => StreamProxy;
  log: Logger;
}

/** What a stopped step may end as (TerminateStep's reason_status). */
const STOP_STATUSES: readonly JobStatus[] = [JobStatus.Cancelled, JobStatus.ExceedTimeLimit, JobStatus.Failed];

/** The most tasks one step starts on a node when tasks may outnumber CPUs and Craned.JobPidsMax does not bound them. */
const MAX_TASKS_PER_NODE = 65_536;

/**
 * Why the node refuses a step with more tasks than ctld admits (the supervisor makes every task's processes and pipes
 * at once: an absurd count would take the node's supervisor down with all the steps it hosts).
 */
function taskCountRefusal(step: StepToD, config: CraneConfig): string | undefined {
  if (step.isBatchPrimary) return undefined;
  const largestCpu = Math.max(0, ...config.nodes.map((n) => n.cpu));
  const pidsBound = config.jobPidsMax > 0 ? config.jobPidsMax : MAX_TASKS_PER_NODE;
  const [max, rule] =
    config.limits.allowTaskOversubscription || largestCpu <= 0
      ? [Math.min(pidsBound, MAX_TASKS_PER_NODE), `the node's task limit (Craned.JobPidsMax: ${config.jobPidsMax})`]
      : [largestCpu, `the CPUs of the largest node (${largestCpu}; CraneCtld.AllowTaskOversubscription is off)`];
  if (step.ntasksPerNode <= max) return undefined;
  return `step ${step.jobId}.${step.stepId} asks for ${step.ntasksPerNode} tasks on this node, more than ${rule}`;
}

/** Hands a dispatched step to the node's supervisor: its job's cgroup, its spec on disk, then StartStep. */
/** Errors that say the node's own disk cannot take a step now, whatever the step. */
const DISK_FULL = new Set(["ENOSPC", "EDQUOT"]);

export async function startStep(d: CranedDeps, step: StepToD): Promise<{ ok: boolean; reason: string; nodeUnfit?: boolean }> {
  const { config, node, layout } = d;
  if ((step.containerMeta || step.podMeta || isPodStep(step)) && !config.container.enabled) {
    return { ok: false, reason: `containers are disabled on node ${node} (Container.Enabled)` };
  }
  const tooManyTasks = taskCountRefusal(step, config);
  if (tooManyTasks) return { ok: false, reason: tooManyTasks };
  if (d.steps.has(step.jobId, step.stepId)) return { ok: true, reason: "already running" };
  try {
    const jobCgroup = createJobCgroup(config.clusterName, node, step.jobId, {
      cpu: step.jobRes?.cpu ?? 0,
      memoryBytes: step.jobRes?.memoryBytes ?? 0,
      pidsMax: config.jobPidsMax,
    });
    layout.writeSpec({
      step,
      node,
      stateDir: layout.stateDir,
      jobCgroup,
      container: config.container,
      clusterName: config.clusterName,
      adminUids: config.adminUids,
    });
    fs.mkdirSync(layout.logDir(step.jobId), { recursive: true });
    d.steps.add(step.jobId, step.stepId, JobStatus.Configuring);
    const r = await d.supervisor.startStep(step.jobId, step.stepId);
    if (!r.ok) d.steps.forgetStep(step.jobId, step.stepId);
    return r;
  } catch (e) {
    d.steps.forgetStep(step.jobId, step.stepId);
    d.log.error(`cannot start step ${step.jobId}.${step.stepId}: ${(e as Error).message}`);
    if (DISK_FULL.has((e as NodeJS.ErrnoException).code ?? "")) {
      const where = (e as NodeJS.ErrnoException).path ?? `${layout.runtimeDir} or ${layout.stateDir}`;
      return { ok: false, reason: `node ${node} cannot write the step's files (${where}): its disk is full`, nodeUnfit: true };
    }
    return { ok: false, reason: (e as Error).message };
  }
}

export async function stopStep(d: CranedDeps, jobId: number, stepId: number, reason: JobStatus, graceSeconds?: number): Promise<void> {
  await d.supervisor
    .stopStep({ jobId, stepId, reasonStatus: reason, reason: "", graceSeconds, signal: "" })
    .catch((e: Error) => d.log.warn(`cannot stop step ${jobId}.${stepId}: ${e.message}`));
}

export async function freeJob(d: CranedDeps, jobId: number): Promise<void> {
  const { config, node, layout } = d;
  const stepIds = await d.steps.endJob(jobId, (stepId) => stopStep(d, jobId, stepId, JobStatus.Cancelled));
  if (config.container.enabled) await removeJobPods(config, node, jobId, d.log).catch((e) => d.log.warn(String(e)));
  await destroyCgroup(jobCgroupPath(config.clusterName, node, jobId));
  d.steps.forgetJob(jobId);
  layout.removeJob(jobId, stepIds);
}

export function cranedService(d: CranedDeps): CranedServer {
  return {
    async executeStep(call, cb) {
      const step = call.request.step;
      if (!step) return cb(null, { ok: false, reason: "request has no step", nodeUnfit: false });
      cb(null, { nodeUnfit: false, ...(await startStep(d, step)) });
    },

    async terminateStep(call, cb) {
      const r = call.request;
      if (r.signal) {
        if (signalName(r.signal) !== r.signal) throw invalidArgument(`TerminateStep: "${r.signal}" is not a signal name such as SIGUSR1`);
        if (!d.steps.has(r.jobId, r.stepId)) return cb(null, { ok: false, reason: `step ${r.jobId}.${r.stepId} does not run on node ${d.node}` });
        return cb(null, await d.supervisor.stopStep(r).catch((e: Error) => ({ ok: false, reason: `the node's supervisor did not answer: ${e.message}` })));
      }
      // The step ends with this status: one that is not an end would leave it ended on the node but not for craned.
      if (!STOP_STATUSES.includes(r.reasonStatus)) {
        const allowed = STOP_STATUSES.map((s) => JobStatus[s]).join(", ");
        throw invalidArgument(`TerminateStep: reason_status ${JobStatus[r.reasonStatus] ?? r.reasonStatus} is not one of ${allowed}`);
      }
      await stopStep(d, r.jobId, r.stepId, r.reasonStatus, r.graceSeconds);
      cb(null, { ok: true, reason: "" });
    },

    async freeJob(call, cb) {
      await freeJob(d, call.request.jobId);
      cb(null, { ok: true });
    },

    async readStepLog(call) {
      const r = call.request;
      // ctld dispatched the step here, but its launch may still be on the way: wait for it (bounded) instead of
      // reporting a step that has not reached this node as ended.
      if (r.follow && r.awaitStepMs > 0) await waitWhileCallOpen(call, () => d.steps.has(r.jobId, r.stepId), Math.min(r.awaitStepMs, 60_000));
      await streamStepLog(call, d.layout.logFile(r.jobId, r.stepId), r, () => d.steps.isOutputComplete(r.jobId, r.stepId));
    },

    async openStepStream(call, cb) {
      const { jobId, stepId } = call.request;
      try {
        if (d.steps.has(jobId, stepId) && d.layout.readSpec(jobId, stepId).step.pty) {
          const target = { socketPath: d.layout.supervisorStreamSocket, path: ptySessionPath(jobId, stepId) };
          return cb(null, { ok: true, reason: "", url: d.streamProxy().issue(target), code: 0 });
        }
        const runtimeUrl = await streamUrl(d.config.container, d.layout, call.request);
        cb(null, { ok: true, reason: "", url: d.streamProxy().issue({ url: runtimeUrl }), code: 0 });
      } catch (e) {
        const reason = (e as Error).message;
        // A container that already exited (its supervisor has not reported it yet) cannot be attached to.
        const code = /CONTAINER_EXITED|has no running container/.test(reason) ? ErrCode.ERR_CRI_CONTAINER_NOT_READY : ErrCode.ERR_CRI_GENERIC;
        cb(null, { ok: false, reason, url: "", code });
      }
    },

    async stepStatusChange(call, cb) {
      cb(null, { ok: await d.steps.report(call.request, d.forward) });
    },
  };
}

function invalidArgument(message: string): Error {
  return Object.assign(new Error(message), { code: grpc.status.INVALID_ARGUMENT });
}
