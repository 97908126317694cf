// `crane craned`: the node daemon. Registers with ctld and heartbeats, creates job cgroups, spawns one
// supervisor per step and relays their reports to ctld. Supervisors are separate processes, so a craned
// restart leaves running steps alone: on start it re-adopts every supervisor still alive.
import * as grpc from "@grpc/grpc-js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CraneConfig } from "../../core/config";
import {
  CranedService,
  ErrCode,
  JobStatus,
  StepToD,
  type CranedServer,
  type StepStatusChangeRequest,
} from "../../core/generated/crane/crane";
import { isTerminal } from "../../core/job-state";
import { createLogger } from "../../core/log";
import { bindServer, ctldInternalClient, safeHandlers, unary, waitWhileCallOpen } from "../../core/rpc";
import { createJobCgroup, destroyCgroup, jobCgroupPath } from "../../core/cgroup";
import { loadNodeKey, nodeKeyPath, requireNodeKey } from "../../core/auth/node-credential";
import { SupervisorLauncher } from "./launcher";
import { streamStepLog } from "./logs";
import { removeJobPods, streamUrl } from "./runtime";
import { startStreamProxy } from "./stream-proxy";
import { StepDirs, isSupervisorAlive, stepKey, type SupervisorSpec } from "./steps";

export interface CranedOptions {
  node: string;
  port: number;
  stateDir: string;
  /** host:port that ctld should dial back; defaults to the ControlMachine-facing host and the bound port. */
  advertise?: string;
}

interface LocalStep {
  jobId: number;
  stepId: number;
  pid?: number;
  status: JobStatus;
  /** Set once the terminal status was delivered to ctld. */
  done: boolean;
  /** For supervisors this craned spawned: set when the process exited (no /proc guessing needed). */
  exited?: boolean;
  spawned?: boolean;
}

export async function runCraned(config: CraneConfig, opts: CranedOptions) {
  const log = createLogger(`craned[${opts.node}]`);
  const nodeConfig = config.nodes.find((n) => n.name === opts.node);
  if (!nodeConfig) {
    throw new Error(
      `node "${opts.node}" is not in ${config.file || "the embedded config"} (known: ${config.nodes.map((n) => n.name).join(", ")}); pass --node NAME`,
    );
  }
  const dirs = new StepDirs(opts.stateDir);
  const steps = new Map<string, LocalStep>();
  const nodeKey = loadNodeKey(nodeKeyPath(config.nodeKeyFile, opts.node), opts.node, config.clusterKeyFile);
  const ctld = ctldInternalClient(config.controlMachine, config.ctldInternalPort, opts.node, nodeKey);
  const socketPath = path.join(opts.stateDir, "craned.sock");
  let registered = false;

  // ---- re-adopt the supervisors that survived a craned restart
  for (const [jobId, stepId] of dirs.listSteps()) {
    const pid = dirs.readPid(jobId, stepId);
    if (isSupervisorAlive(pid)) {
      steps.set(stepKey(jobId, stepId), { jobId, stepId, pid, status: JobStatus.Running, done: false });
      log.info(`re-adopted supervisor ${pid} of step ${jobId}.${stepId}`);
    } else {
      // The supervisor is gone; a terminal report it could not deliver is replayed from its result file.
      steps.set(stepKey(jobId, stepId), { jobId, stepId, status: JobStatus.Failed, done: false });
    }
  }

  const forward = async (r: StepStatusChangeRequest): Promise<boolean> => {
    try {
      const reply = await unary(ctld, ctld.stepStatusChange, { ...r, node: opts.node }, 5000);
      return reply.ok;
    } catch {
      return false;
    }
  };

  const onReport = async (r: StepStatusChangeRequest): Promise<boolean> => {
    const key = stepKey(r.jobId, r.stepId);
    const local = steps.get(key) ?? { jobId: r.jobId, stepId: r.stepId, status: r.status, done: false };
    steps.set(key, local);
    if (!(await forward(r))) return false;
    local.status = r.status;
    if (isTerminal(r.status)) local.done = true;
    return true;
  };

  const launcher = new SupervisorLauncher(
    path.join(opts.stateDir, "logs", "supervisor-standby.log"),
    log,
    config.container.enabled ? config.container.runtimeEndpoint : undefined,
  );
  launcher.prepare();

  const spawnSupervisor = (step: StepToD): void => {
    const jobCgroup = jobCgroupPath(config.clusterName, opts.node, step.jobId);
    const spec: SupervisorSpec = {
      step: StepToD.toJSON(step) as SupervisorSpec["step"],
      node: opts.node,
      stateDir: opts.stateDir,
      cranedSocket: socketPath,
      jobCgroup,
      container: config.container,
      clusterName: config.clusterName,
      adminUids: config.adminUids,
    };
    const specFile = dirs.writeSpec(step, spec);
    fs.mkdirSync(dirs.logDir(step.jobId), { recursive: true });
    const child = launcher.launch(specFile, path.join(dirs.logDir(step.jobId), `supervisor-${step.stepId}.log`));
    const local: LocalStep = { jobId: step.jobId, stepId: step.stepId, pid: child.pid, status: JobStatus.Configuring, done: false, spawned: true };
    child.on("exit", () => (local.exited = true));
    child.on("error", () => {
      if (child.pid === undefined) local.exited = true; // never started: reaped (reported failed) like a dead one
    });
    steps.set(stepKey(step.jobId, step.stepId), local);
  };

  /** Asks a step's supervisor to stop: why and the grace before SIGKILL go to its `stop` file, then SIGTERM. */
  const terminate = (jobId: number, stepId: number, reason: JobStatus, graceSeconds?: number): void => {
    const dir = dirs.stepDir(jobId, stepId);
    const stop = { reason: JobStatus[reason] ?? "Cancelled", ...(graceSeconds !== undefined ? { graceSeconds } : {}) };
    if (fs.existsSync(dir)) fs.writeFileSync(path.join(dir, "stop"), JSON.stringify(stop));
    const local = steps.get(stepKey(jobId, stepId));
    const pid = local?.pid ?? dirs.readPid(jobId, stepId);
    if (pid && (local ? alive(local) : isSupervisorAlive(pid))) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // exited meanwhile
      }
    }
  };

  const alive = (s: LocalStep): boolean => (s.spawned ? !s.exited : isSupervisorAlive(s.pid ?? dirs.readPid(s.jobId, s.stepId)));

  const jobSteps = (jobId: number) => [...steps.values()].filter((s) => s.jobId === jobId);

  const freeJob = async (jobId: number): Promise<void> => {
    const mine = jobSteps(jobId);
    // Ordinary steps first, the pod (step 0) last: containers stop before their sandbox goes.
    for (const s of mine.filter((s) => s.stepId !== 0)) terminate(jobId, s.stepId, JobStatus.Cancelled);
    await waitForExit(mine.filter((s) => s.stepId !== 0), 30_000);
    if (mine.some((s) => s.stepId === 0)) terminate(jobId, 0, JobStatus.Cancelled);
    await waitForExit(mine.filter((s) => s.stepId === 0), 30_000);
    if (config.container.enabled) await removeJobPods(config, opts.node, jobId, log).catch((e) => log.warn(String(e)));
    await destroyCgroup(jobCgroupPath(config.clusterName, opts.node, jobId));
    for (const s of jobSteps(jobId)) {
      steps.delete(stepKey(s.jobId, s.stepId));
      fs.rmSync(dirs.stepDir(s.jobId, s.stepId), { recursive: true, force: true });
    }
    fs.rmSync(dirs.jobDir(jobId), { recursive: true, force: true });
    fs.rmSync(path.join(opts.stateDir, "scripts", `${jobId}.sh`), { force: true });
  };

  const waitForExit = async (list: LocalStep[], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (list.some(alive)) {
      if (Date.now() > deadline) {
        for (const s of list.filter(alive)) if (s.pid) process.kill(s.pid, "SIGKILL");
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const service: CranedServer = {
    executeStep(call, cb) {
      const step = call.request.step;
      if (!step) return cb(null, { ok: false, reason: "request has no step" });
      if (step.containerMeta || step.podMeta || step.stepId === 0 && step.jobType === 2) {
        if (!config.container.enabled) return cb(null, { ok: false, reason: `containers are disabled on node ${opts.node} (Container.Enabled)` });
      }
      const key = stepKey(step.jobId, step.stepId);
      if (steps.has(key)) return cb(null, { ok: true, reason: "already running" });
      try {
        createJobCgroup(config.clusterName, opts.node, step.jobId, { cpu: step.jobRes?.cpu ?? 0, memoryBytes: step.jobRes?.memoryBytes ?? 0, pidsMax: config.jobPidsMax });
        spawnSupervisor(step);
        cb(null, { ok: true, reason: "" });
      } catch (e) {
        log.error(`cannot start step ${key}: ${(e as Error).message}`);
        cb(null, { ok: false, reason: (e as Error).message });
      }
    },

    terminateStep(call, cb) {
      const r = call.request;
      terminate(r.jobId, r.stepId, r.reasonStatus, r.graceSeconds);
      cb(null, { ok: true });
    },

    async freeJob(call, cb) {
      await freeJob(call.request.jobId);
      cb(null, { ok: true });
    },

    async readStepLog(call) {
      const r = call.request;
      // ctld dispatched the step here, but its launch may still be on the way: wait for it (bounded) instead of
      // reporting a step that has not reached this node as ended.
      if (r.follow && r.awaitStepMs > 0) await waitWhileCallOpen(call, () => steps.has(stepKey(r.jobId, r.stepId)), Math.min(r.awaitStepMs, 60_000));
      const isDone = () => {
        const s = steps.get(stepKey(r.jobId, r.stepId));
        return !s || s.done || (isTerminal(s.status) && !alive(s));
      };
      await streamStepLog(call, dirs.logFile(r.jobId, r.stepId), r, isDone);
    },

    async openStepStream(call, cb) {
      try {
        const runtimeUrl = await streamUrl(config.container, dirs, call.request);
        cb(null, { ok: true, reason: "", url: streamProxy.issue(runtimeUrl), code: 0 });
      } catch (e) {
        const reason = (e as Error).message;
        // A container that already exited (its supervisor has not reported it yet) cannot be attached to.
        const code = /CONTAINER_EXITED|has no running container/.test(reason) ? ErrCode.ERR_CRI_CONTAINER_NOT_READY : ErrCode.ERR_CRI_GENERIC;
        cb(null, { ok: false, reason, url: "", code });
      }
    },

    async stepStatusChange(call, cb) {
      cb(null, { ok: await onReport(call.request) });
    },
  };

  // ctld's calls must carry this node's key; the supervisors' socket serves only their reports and is root's.
  const fromCtld = requireNodeKey((n) => (n === opts.node ? nodeKey : undefined), "is for crane's control daemon only: the call carries no key, or not this node's");
  const server = new grpc.Server();
  server.addService(CranedService, safeHandlers(service, log.error, { authenticate: fromCtld }));
  const port = await bindServer(server, `${config.cranedListenAddr}:${opts.port}`);
  const supervisorServer = new grpc.Server();
  supervisorServer.addService(CranedService, safeHandlers({ stepStatusChange: service.stepStatusChange }, log.error));
  fs.rmSync(socketPath, { force: true });
  const umask = process.umask(0o177); // the socket is created 0600, with no window in which others may connect
  try {
    await bindServer(supervisorServer, `unix://${socketPath}`);
  } finally {
    process.umask(umask);
  }
  fs.writeFileSync(path.join(opts.stateDir, "craned.pid"), String(process.pid));
  const address = opts.advertise ?? `${advertiseHost(config)}:${port}`;
  const streamProxy = await startStreamProxy({
    listenAddr: config.cranedListenAddr,
    port: config.cranedStreamPort,
    publicHost: address.slice(0, address.lastIndexOf(":")).replace(/^\[|\]$/g, ""),
    log,
  });

  const register = async (): Promise<void> => {
    // Every step not yet freed, finished or not: ctld frees the jobs that ended while it did not know this node.
    const held = [...steps.values()];
    const reply = await unary(ctld, ctld.cranedRegister, {
      node: opts.node,
      address, // informative: ctld dials the address its config gives for this node
      resources: { cpu: nodeConfig.cpu, memoryBytes: nodeConfig.memoryBytes, gres: {} },
      steps: held.map((s) => ({ jobId: s.jobId, stepId: s.stepId, status: s.status })),
      version: "1",
      containerEnabled: config.container.enabled,
    }, 5000);
    if (!reply.ok) throw new Error(reply.reason);
    for (const o of reply.orphanSteps) terminate(o.jobId, o.stepId, JobStatus.Cancelled);
    registered = true;
    log.info(`registered with ctld as ${opts.node} at ${address}`);
  };

  const heartbeat = async (): Promise<void> => {
    try {
      if (!registered) {
        await register();
        return;
      }
      const reply = await unary(ctld, ctld.cranedPing, { node: opts.node }, 5000);
      if (reply.reregister) {
        // ctld restarted (or declared us down): tell it at once what we hold, not one ping interval later.
        registered = false;
        await register();
      }
    } catch (e) {
      if (registered) log.warn(`ctld unreachable: ${(e as Error).message}`);
      registered = false;
    }
  };

  /** Steps whose supervisor vanished without reporting an end are reported Failed (never silently lost). */
  const reapDeadSupervisors = async (): Promise<void> => {
    for (const s of [...steps.values()]) {
      if (s.done || alive(s)) continue;
      const result = readResult(dirs.stepDir(s.jobId, s.stepId));
      if (s.pid === undefined && !result && !fs.existsSync(dirs.stepDir(s.jobId, s.stepId))) continue;
      await onReport(result ?? {
        node: opts.node, jobId: s.jobId, stepId: s.stepId, status: JobStatus.Failed, exitCode: 0,
        reason: "the step's supervisor exited unexpectedly", timestamp: Date.now(), containerId: "",
      });
    }
  };

  // Until the first registration succeeds (ctld may still be starting), retry quickly.
  for (let i = 0; i < 20 && !registered; i++) {
    await heartbeat();
    if (!registered) await new Promise((r) => setTimeout(r, 250));
  }
  const timers = [
    setInterval(() => void heartbeat(), config.pingIntervalSeconds * 1000),
    setInterval(() => void reapDeadSupervisors(), 1000),
  ];
  log.info(`node ${opts.node} serving on port ${port} (streams on ${streamProxy.port}), state in ${opts.stateDir}`);

  return {
    port,
    async stop() {
      timers.forEach(clearInterval);
      launcher.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      await new Promise<void>((r) => supervisorServer.tryShutdown(() => r()));
      await streamProxy.close();
      ctld.close();
    },
  };
}

function advertiseHost(config: CraneConfig): string {
  const cm = config.controlMachine;
  if (cm === "localhost" || cm.startsWith("127.")) return "127.0.0.1";
  return config.cranedListenAddr === "0.0.0.0" ? os.hostname() : config.cranedListenAddr;
}

/** The terminal report a supervisor saved before it exited (it may not have been delivered). */
function readResult(stepDir: string): StepStatusChangeRequest | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stepDir, "result.json"), "utf8")) as StepStatusChangeRequest;
  } catch {
    return undefined;
  }
}
