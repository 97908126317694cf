// `crane craned`: the node daemon. Registers with ctld and heartbeats, creates job cgroups, hands steps to the
// node's one supervisor process and relays its reports to ctld. The supervisor and the steps' shims are processes
// of their own, so a craned restart leaves running steps alone: a new craned finds the supervisor by its pid file
// and the steps by their directories. This file only wires the parts together.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CraneConfig } from "../../core/config";
import { JobStatus, type StepStatusChangeRequest } from "../../core/generated/crane/crane";
import { CranedService } from "../../core/generated/crane/services";
import { createLogger } from "../../core/log";
import { bindRootOnlySocket, bindServer, ctldInternalClient, newServer, safeHandlers, unary } from "../../core/rpc";
import { loadNodeKey, nodeKeyPath, requireNodeKey } from "../../core/auth/node-credential";
import { NodeLayout, readJson } from "../../core/node/layout";
import { identify, writeIdentityFile } from "../../core/node/process-identity";
import { sweepNode } from "./housekeeping";
import { Registration } from "./registration";
import { cranedService, startStep, stopStep, type CranedDeps } from "./service";
import { StepTable } from "./step-table";
import { startStreamProxy, type StreamProxy } from "./stream-proxy";
import { NodeSupervisor } from "./supervisor-client";

export interface CranedOptions {
  node: string;
  port: number;
  stateDir: string;
  /** The node's per-boot step files (core/node/layout.ts); default `<CranedRuntimeDir>/<node>`. */
  runtimeDir?: string;
  /** host:port that ctld should dial back; defaults to the ControlMachine-facing host and the bound port. */
  advertise?: string;
}

/** How often craned checks that the node's supervisor is alive (and starts a new one when it is not). */
const SUPERVISOR_CHECK_MS = 1_000;

export async function runCraned(config: CraneConfig, opts: CranedOptions) {
  const log = createLogger(`craned[${opts.node}]`);
  const nodeConfig = config.nodes.find((n) => n.name === opts.node);
  if (!nodeConfig) {
    throw new Error(
      `node "${opts.node}" is not in ${config.file || "the embedded config"} (known: ${config.nodes.map((n) => n.name).join(", ")}); pass --node NAME`,
    );
  }
  const layout = new NodeLayout(opts.stateDir, opts.runtimeDir ?? path.join(config.cranedRuntimeDir, opts.node)).ensure();
  const steps = new StepTable();
  const nodeKey = loadNodeKey(nodeKeyPath(config.nodeKeyFile, opts.node), opts.node, config.clusterKeyFile);
  const ctld = ctldInternalClient(config.controlMachine, config.ctldInternalPort, opts.node, nodeKey);
  const supervisor = new NodeSupervisor(layout, { node: opts.node, configFile: config.file }, log);
  writeIdentityFile(layout.cranedPidFile, identify(process.pid)!);

  const forward = async (r: StepStatusChangeRequest): Promise<boolean> => {
    try {
      return (await unary(ctld, ctld.stepStatusChange, { ...r, node: opts.node }, 5000)).ok;
    } catch {
      return false;
    }
  };
  const started: { streamProxy?: StreamProxy } = {}; // the proxy starts after the steps are picked up
  const deps: CranedDeps = { config, node: opts.node, layout, steps, supervisor, forward, streamProxy: () => started.streamProxy!, log };

  // ---- the steps this node held before a craned restart: the supervisor (or its successor) reports their ends
  const unstarted: [number, number][] = [];
  for (const [jobId, stepId] of layout.listSteps()) {
    const result = readJson<StepStatusChangeRequest>(layout.resultFile(jobId, stepId));
    const local = steps.add(jobId, stepId, result?.status ?? JobStatus.Running);
    local.ended = result !== undefined; // its end is saved; the supervisor delivers it if ctld does not have it yet
    if (!fs.existsSync(layout.hostedMarker(jobId, stepId))) unstarted.push([jobId, stepId]);
  }
  await supervisor.ensureRunning().catch((e: Error) => log.error(e.message));
  for (const [jobId, stepId] of unstarted) {
    // Dispatched, but craned went before the supervisor took it: start it now (ctld stops it if it is over).
    steps.forgetStep(jobId, stepId);
    try {
      await startStep(deps, layout.readSpec(jobId, stepId).step);
    } catch (e) {
      log.warn(`cannot start step ${jobId}.${stepId} again: ${(e as Error).message}`);
    }
  }

  // ctld's calls must carry this node's key; the supervisor's socket serves only its reports and is root's.
  const service = cranedService(deps);
  const fromCtld = requireNodeKey(
    (n) => (n === opts.node ? nodeKey : undefined),
    "is for crane's control daemon only: the call carries no key, or not this node's",
  );
  const server = newServer();
  server.addService(CranedService, safeHandlers(service, log.error, { authenticate: fromCtld }));
  const port = await bindServer(server, `${config.cranedListenAddr}:${opts.port}`);
  const supervisorServer = newServer();
  supervisorServer.addService(CranedService, safeHandlers({ stepStatusChange: service.stepStatusChange }, log.error));
  await bindRootOnlySocket(supervisorServer, layout.cranedSocket);
  const address = opts.advertise ?? `${advertiseHost(config)}:${port}`;
  const streamProxy = (started.streamProxy = await startStreamProxy({
    listenAddr: config.cranedListenAddr,
    port: config.cranedStreamPort,
    publicHost: address.slice(0, address.lastIndexOf(":")).replace(/^\[|\]$/g, ""),
    log,
  }));

  const registration = new Registration(
    ctld,
    nodeConfig,
    config,
    address,
    steps,
    (jobId, stepId) => void stopStep(deps, jobId, stepId, JobStatus.Cancelled),
    log,
  );
  // Until the first registration succeeds (ctld may still be starting), retry quickly.
  for (let i = 0; i < 20 && !registration.registered; i++) {
    await registration.heartbeat();
    if (!registration.registered) await new Promise((r) => setTimeout(r, 250));
  }
  // Leftovers are judged against the step table, which the registration has just reconciled with ctld.
  const held = (jobId: number) => steps.ofJob(jobId).length > 0;
  const sweep = () => sweepNode(config, opts.node, layout, held, log).catch((e: Error) => log.warn(`housekeeping failed: ${e.message}`));
  if (registration.registered && config.housekeepingIntervalSeconds > 0) void sweep();
  const timers = [
    setInterval(() => void registration.heartbeat(), config.pingIntervalSeconds * 1000),
    // A supervisor that died is replaced; the new one picks up its steps (their shims and containers live on).
    setInterval(() => {
      if (!supervisor.isRunning()) supervisor.ensureRunning().catch((e: Error) => log.error(e.message));
    }, SUPERVISOR_CHECK_MS),
  ];
  if (config.housekeepingIntervalSeconds > 0) {
    timers.push(setInterval(() => registration.registered && void sweep(), config.housekeepingIntervalSeconds * 1000));
  }
  log.info(`node ${opts.node} serving on port ${port} (streams on ${streamProxy.port}), state in ${opts.stateDir}`);

  return {
    port,
    async stop() {
      timers.forEach(clearInterval);
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      await new Promise<void>((r) => supervisorServer.tryShutdown(() => r()));
      await streamProxy.close();
      supervisor.close();
      ctld.close();
    },
  };
}

function advertiseHost(config: CraneConfig): string {
  const cm = config.controlMachine;
  if (cm === "localhost" || cm.startsWith("127.")) return "127.0.0.1";
  return config.cranedListenAddr === "0.0.0.0" ? os.hostname() : config.cranedListenAddr;
}
