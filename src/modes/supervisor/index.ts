// `crane supervisor --state-dir DIR --runtime-dir DIR`: the node's one supervisor, started by craned (never by
// hand). It hosts every step of the node: process steps run under per-step shell shims (launch.ts) that hold their
// exit status, container steps and pods are held by the runtime. It outlives a craned restart and reports every
// status change to craned until accepted. When it starts it picks up the steps an earlier supervisor hosted, from
// the node's runtime dir. On SIGTERM it stops every step (containers before pods), saves their results and exits.
import fs from "node:fs";
import type { CgroupUsage } from "../../core/cgroup";
import type { CraneConfig } from "../../core/config";
import { connectCri, type CriClient } from "../../core/cri";
import { JobStatus } from "../../core/generated/crane/crane";
import { SupervisorService, type SupervisorServer } from "../../core/generated/crane/services";
import { isPodStep, NodeLayout, stepKey } from "../../core/node/layout";
import { identify, isAlive, readIdentityFile, writeIdentityFile } from "../../core/node/process-identity";
import { bindRootOnlySocket, cranedClient, newServer, safeHandlers } from "../../core/rpc";
import { startContainerStep } from "./container-step";
import { stepEnvironment } from "./env";
import { startPodStep } from "./pod-step";
import { startProcessStep } from "./process-step";
import { startPtyServer } from "./pty";
import { Reporter } from "./report";
import type { RunningStep, StepContext } from "./running-step";

/** Seconds between checks of whether craned is still there (an idle supervisor without its craned exits). */
const IDLE_CHECK_MS = 5_000;

interface HostedStep {
  running?: RunningStep;
  reporter: Reporter;
  /** Its outcome is saved in result.json: it needs this process no more. */
  ended: boolean;
  isPod: boolean;
}

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} supervisor ${message}\n`);
}

export async function runNodeSupervisor(config: CraneConfig, node: string, stateDir: string, runtimeDir: string): Promise<number> {
  const layout = new NodeLayout(stateDir, runtimeDir).ensure();
  const other = readIdentityFile(layout.supervisorPidFile);
  if (other && other.pid !== process.pid && isAlive(other)) {
    log(`another supervisor (pid ${other.pid}) hosts this node's steps: exiting`);
    return 0;
  }
  process.title = "crane supervisor";
  const craned = cranedClient(`unix://${layout.cranedSocket}`);
  const hosted = new Map<string, HostedStep>();
  let stopping = false;
  let cri: CriClient | undefined;
  const runtime = () =>
    (cri ??= connectCri({
      runtimeEndpoint: config.container.runtimeEndpoint,
      imageEndpoint: config.container.imageEndpoint,
      nodeName: node,
      timeoutMs: 30_000,
      pullTimeoutMs: config.container.imagePullTimeoutSeconds * 1000,
    }));
  if (config.container.enabled)
    runtime()
      .version()
      .catch(() => undefined); // connected ahead of the first step

  /** The step's spec and a reporter for it. */
  const load = (jobId: number, stepId: number) => {
    const spec = layout.readSpec(jobId, stepId);
    return { spec, reporter: new Reporter(craned, layout.resultFile(jobId, stepId), { node: spec.node, jobId, stepId }) };
  };

  /** Takes a step on: starts it, or (resume) picks up what an earlier supervisor started. */
  const host = (jobId: number, stepId: number, resume: boolean, { spec, reporter } = load(jobId, stepId)): void => {
    const key = stepKey(jobId, stepId);
    const entry: HostedStep = { reporter, ended: false, isPod: isPodStep(spec.step) };
    hosted.set(key, entry);
    if (!resume) fs.writeFileSync(layout.hostedMarker(jobId, stepId), "");
    const ctx: StepContext = {
      spec,
      layout,
      reporter,
      resume,
      cri: runtime,
      env: stepEnvironment(spec.step, spec.clusterName),
      log: (m) => log(`step ${key}: ${m}`),
      logLimits: config.stepLogLimits,
    };
    const finish = async (status: JobStatus, exitCode: number, reason: string, usage?: CgroupUsage) => {
      ctx.log(`finished ${JobStatus[status]} exit=${exitCode} ${reason}`);
      const delivered = reporter.report(status, { exitCode, reason, ...usage });
      entry.ended = true;
      await delivered;
      hosted.delete(key);
    };
    try {
      const start = entry.isPod ? startPodStep : spec.step.containerMeta ? startContainerStep : startProcessStep;
      entry.running = start(ctx);
    } catch (e) {
      ctx.log(`cannot start: ${(e as Error).stack}`);
      void finish(JobStatus.Failed, 0, (e as Error).message);
      return;
    }
    if (resume) ctx.log("picked up from an earlier supervisor");
    entry.running.done.then(
      (o) => finish(o.status, o.exitCode, o.reason, o.usage),
      (e: Error) => finish(JobStatus.Failed, 0, e.message),
    );
  };

  // ---- the steps an earlier supervisor hosted
  for (const [jobId, stepId] of layout.listSteps()) {
    const key = stepKey(jobId, stepId);
    if (!fs.existsSync(layout.hostedMarker(jobId, stepId))) continue; // craned will ask for it
    try {
      const loaded = load(jobId, stepId);
      const replay = loaded.reporter.replaySaved();
      if (replay) {
        hosted.set(key, { reporter: loaded.reporter, ended: true, isPod: isPodStep(loaded.spec.step) });
        void replay.then(() => hosted.delete(key));
      } else {
        host(jobId, stepId, true, loaded);
      }
    } catch (e) {
      log(`cannot pick up step ${key}: ${(e as Error).message}`);
    }
  }

  const service: SupervisorServer = {
    startStep(call, cb) {
      const { jobId, stepId } = call.request;
      if (stopping) return cb(null, { ok: false, reason: "the node's supervisor is shutting down" });
      if (hosted.has(stepKey(jobId, stepId))) return cb(null, { ok: true, reason: "already hosted" });
      try {
        host(jobId, stepId, false);
        cb(null, { ok: true, reason: "" });
      } catch (e) {
        cb(null, { ok: false, reason: (e as Error).message });
      }
    },
    async stopStep(call, cb) {
      const r = call.request;
      const entry = hosted.get(stepKey(r.jobId, r.stepId));
      if (r.signal) {
        if (!entry?.running || entry.ended) return cb(null, { ok: false, reason: `step ${stepKey(r.jobId, r.stepId)} is not running here` });
        log(`step ${stepKey(r.jobId, r.stepId)}: sending ${r.signal}`);
        const failure = await entry.running.signal(r.signal as NodeJS.Signals);
        return cb(null, { ok: !failure, reason: failure });
      }
      if (entry?.running && !entry.ended) {
        const grace = r.graceSeconds;
        log(`step ${stepKey(r.jobId, r.stepId)}: stopping: ${JobStatus[r.reasonStatus]}${grace !== undefined ? ` (SIGKILL after ${grace} s)` : ""}`);
        entry.running.stop(r.reasonStatus, grace);
      }
      cb(null, { ok: true, reason: "" });
    },
  };

  const server = newServer();
  server.addService(
    SupervisorService,
    safeHandlers(service, (m) => log(m)),
  );
  await bindRootOnlySocket(server, layout.supervisorSocket); // craned (root) alone may call it
  await startPtyServer(layout.supervisorStreamSocket, (jobId, stepId) => {
    const entry = hosted.get(stepKey(jobId, stepId));
    return entry && !entry.ended ? entry.running?.terminal : undefined;
  });
  // Written once the socket serves: to craned, a live supervisor in this file is one it can call.
  writeIdentityFile(layout.supervisorPidFile, identify(process.pid)!);
  log(`hosting the steps of ${runtimeDir} (pid ${process.pid})`);

  // ---- SIGTERM: stop everything, containers before their pods, and leave once every result is saved
  const shutDown = async () => {
    if (stopping) return;
    stopping = true;
    log("stopping every step");
    for (const h of hosted.values()) h.reporter.stopRetrying();
    for (const pods of [false, true]) {
      const group = [...hosted.values()].filter((h) => h.isPod === pods && h.running && !h.ended);
      for (const h of group) h.running!.stop(JobStatus.Cancelled);
      await Promise.all(group.map((h) => h.running!.done.catch(() => undefined)));
    }
    while ([...hosted.values()].some((h) => !h.ended)) await new Promise((r) => setTimeout(r, 20));
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutDown());
  process.on("SIGINT", () => undefined);
  process.on("SIGHUP", () => undefined);

  // ---- an idle supervisor whose craned is gone has nothing left to do: craned starts a new one when it returns
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const idle = [...hosted.values()].every((h) => h.ended);
      if (idle && !isAlive(readIdentityFile(layout.cranedPidFile))) {
        clearInterval(timer);
        resolve();
      }
    }, IDLE_CHECK_MS);
  });
  log("craned is gone and no step is running: exiting");
  return 0;
}
