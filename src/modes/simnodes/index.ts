// Simulated craned nodes, for measuring ctld alone (bench/e2e.ts): many nodes in one process, all on one gRPC port.
// A simulated node runs no process: it accepts a step, reports it Running, and after the step's run time (its
// leading `sleep N`, see run-time.ts) reports it Completed with exit code 0.
//
// ctld dials each node at the address and port its config gives (`Nodes[].address`, `port`), so giving every
// simulated node the same address and port brings all of ctld's calls here. Each call names its target node and
// carries that node's key (x-crane-node, x-crane-node-key): the simulator verifies the key for that node and acts
// as that node. In the other direction one channel to ctld's internal service serves all nodes, each call carrying
// the calling node's name and key as metadata: ctld's node check (requireNodeKey, then asCallingNode in
// ctld/service.ts) reads only those headers and the request's `node`, so it cannot tell this from real craneds.
import * as grpc from "@grpc/grpc-js";
import fs from "node:fs";
import type { CraneConfig, NodeConfig } from "../../core/config";
import { ErrCode, JobStatus, type StepStatusChangeRequest } from "../../core/generated/crane/crane";
import { CraneCtldForInternalClient, CranedService, type CranedServer } from "../../core/generated/crane/services";
import { NODE_KEY_HEADER, NODE_NAME_HEADER, deriveNodeKey, requireNodeKey } from "../../core/auth/node-credential";
import { isTerminal } from "../../core/job-state";
import { createLogger, type Logger } from "../../core/log";
import { CHANNEL_OPTIONS, bindServer, isUnavailable, safeHandlers, unary } from "../../core/rpc";
import { simulatedRunMs } from "./run-time";
import { TickQueue } from "./ticks";

export { simulatedRunMs } from "./run-time";

/** Step ends are coalesced per tick of this many ms (one timer for all nodes). */
const TICK_MS = 10;
/** Heartbeats are spread over the ping interval, a slice of the nodes every this many ms. */
const HEARTBEAT_SLICE_MS = 100;
/** Reports (and registrations) in flight to ctld at once; more wait their turn, in order. */
const MAX_REPORTS_IN_FLIGHT = 512;
const MAX_REGISTRATIONS_IN_FLIGHT = 64;
const CALL_TIMEOUT_MS = 30_000;
/** A report ctld did not take is sent again (as a supervisor does), up to this many times. */
const REPORT_ATTEMPTS = 20;
const REPORT_RETRY_MS = 500;

export interface SimulatedNodesOptions {
  config: CraneConfig;
  /** The config's nodes to simulate (default: all). Each must be configured at `port`. */
  names?: string[];
  /** The one port all simulated nodes listen on. */
  port: number;
  /** Address to bind (default: the config's CranedListenAddr). */
  listenAddr?: string;
  /** The cluster key (default: read from the config's ClusterKeyFile, as on the control machine). */
  clusterKey?: string;
  log?: Logger;
}

/** How many times something happened, and when it happened first and last (unix ms; 0 = never). */
export interface Counter {
  count: number;
  first: number;
  last: number;
}

export interface SimStats {
  nodes: number;
  registered: number;
  /** ExecuteStep calls accepted: ctld scheduled a step and dispatched it. */
  executed: Counter;
  /** Running reports ctld acknowledged (it saved the start). */
  started: Counter;
  /** Completed reports ctld acknowledged. */
  completed: Counter;
  /** FreeJob calls: ctld ended a job on a node. */
  freed: Counter;
  terminated: Counter;
  /** Steps between ExecuteStep and their end. */
  running: number;
  reportsQueued: number;
  reportRetries: number;
  reportsDropped: number;
}

export interface SimulatedNodes {
  port: number;
  stats(): SimStats;
  /** Resolves once every node is registered with ctld (rejects after `timeoutMs`). */
  waitRegistered(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

interface SimNode {
  config: NodeConfig;
  key: string;
  registered: boolean;
  /** A registration or ping is on its way: the next heartbeat of this node waits. */
  beating: boolean;
  /** A refused registration was logged (once per node). */
  warned: boolean;
  steps: Map<string, SimStep>;
}

interface SimStep {
  node: SimNode;
  jobId: number;
  stepId: number;
  status: JobStatus;
  /** Freed or terminated: its end timer does nothing. */
  gone: boolean;
  /** The step's reports, sent one after another so that ctld hears Running before Completed. */
  chain: Promise<void>;
}

const counter = (): Counter => ({ count: 0, first: 0, last: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs at most `max` tasks at a time, the others in the order they came. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.max) this.active++;
    else await new Promise<void>((r) => this.waiting.push(r)); // the finishing task hands its slot over
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export async function startSimulatedNodes(opts: SimulatedNodesOptions): Promise<SimulatedNodes> {
  const { config } = opts;
  const log = opts.log ?? createLogger("simnodes");
  const clusterKey = opts.clusterKey ?? fs.readFileSync(config.clusterKeyFile, "utf8").trim();
  const wanted = opts.names ?? config.nodes.map((n) => n.name);
  const configured = new Map(config.nodes.map((n) => [n.name, n]));
  const nodes = new Map<string, SimNode>();
  for (const name of wanted) {
    const nc = configured.get(name);
    if (!nc) throw new Error(`node "${name}" is not in ${config.file || "the config"}`);
    if (nc.port !== opts.port) throw new Error(`node ${name} is configured at port ${nc.port}, not ${opts.port}: ctld would dial it there`);
    nodes.set(name, { config: nc, key: deriveNodeKey(clusterKey, name), registered: false, beating: false, warned: false, steps: new Map() });
  }
  const list = [...nodes.values()];

  const stats: SimStats = {
    nodes: list.length,
    registered: 0,
    executed: counter(),
    started: counter(),
    completed: counter(),
    freed: counter(),
    terminated: counter(),
    running: 0,
    reportsQueued: 0,
    reportRetries: 0,
    reportsDropped: 0,
  };
  const bump = (c: Counter) => {
    const now = Date.now();
    c.count++;
    if (!c.first) c.first = now;
    c.last = now;
  };

  // ---- calls to ctld: one channel, each call as the node it is about
  const ctld = new CraneCtldForInternalClient(`${config.controlMachine}:${config.ctldInternalPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const asNode = (node: SimNode): grpc.Metadata => {
    const md = new grpc.Metadata();
    md.set(NODE_NAME_HEADER, node.config.name);
    md.set(NODE_KEY_HEADER, node.key);
    return md;
  };
  const reports = new Limiter(MAX_REPORTS_IN_FLIGHT);
  const registrations = new Limiter(MAX_REGISTRATIONS_IN_FLIGHT);
  let stopped = false;

  const send = async (step: SimStep, status: JobStatus, exitCode: number, reason: string): Promise<void> => {
    const req: StepStatusChangeRequest = {
      node: step.node.config.name,
      jobId: step.jobId,
      stepId: step.stepId,
      status,
      exitCode,
      reason,
      timestamp: Date.now(),
      containerId: "",
      maxRssBytes: 0,
      cpuTimeUsec: 0,
    };
    for (let attempt = 1; !stopped; attempt++) {
      try {
        if ((await reports.run(() => unary(ctld, ctld.stepStatusChange, req, CALL_TIMEOUT_MS, asNode(step.node)))).ok) {
          if (status === JobStatus.Running) bump(stats.started);
          else if (status === JobStatus.Completed) bump(stats.completed);
          return;
        }
      } catch (e) {
        if (attempt === 1) log.warn(`report of ${step.jobId}.${step.stepId} from ${req.node} failed (will retry): ${(e as Error).message}`);
      }
      if (attempt >= REPORT_ATTEMPTS) break;
      stats.reportRetries++;
      await sleep(REPORT_RETRY_MS);
    }
    stats.reportsDropped++;
  };
  const report = (step: SimStep, status: JobStatus, exitCode = 0, reason = "") => {
    stats.reportsQueued++;
    step.chain = step.chain.then(() => send(step, status, exitCode, reason)).finally(() => stats.reportsQueued--);
  };
  const end = (step: SimStep) => {
    if (step.gone || isTerminal(step.status)) return false;
    step.gone = true;
    stats.running--;
    return true;
  };

  const ticks = new TickQueue<SimStep>(TICK_MS, (due) => {
    for (const step of due) {
      if (!end(step)) continue;
      step.status = JobStatus.Completed;
      report(step, JobStatus.Completed);
    }
  });

  // ---- ctld's calls to the nodes; every call is verified for the node it names
  const nodeOf = (call: { metadata: grpc.Metadata }): SimNode => nodes.get(call.metadata.get(NODE_NAME_HEADER)[0] as string)!;
  const service: CranedServer = {
    executeStep(call, cb) {
      const node = nodeOf(call);
      const spec = call.request.step;
      if (!spec) return cb(null, { ok: false, reason: "request has no step", nodeUnfit: false });
      const key = `${spec.jobId}.${spec.stepId}`;
      if (node.steps.has(key)) return cb(null, { ok: true, reason: "", nodeUnfit: false }); // launched already (a repeated dispatch)
      const step: SimStep = { node, jobId: spec.jobId, stepId: spec.stepId, status: JobStatus.Running, gone: false, chain: Promise.resolve() };
      node.steps.set(key, step);
      stats.running++;
      bump(stats.executed);
      cb(null, { ok: true, reason: "", nodeUnfit: false });
      report(step, JobStatus.Running);
      const runMs = simulatedRunMs(spec);
      if (runMs !== undefined) ticks.add(Date.now() + runMs, step);
    },

    terminateStep(call, cb) {
      const r = call.request;
      const step = nodeOf(call).steps.get(`${r.jobId}.${r.stepId}`);
      if (r.signal) return cb(null, { ok: step !== undefined, reason: step ? "" : "no such step" }); // nothing runs to get it
      if (step && end(step)) {
        bump(stats.terminated);
        step.status = isTerminal(r.reasonStatus) ? r.reasonStatus : JobStatus.Cancelled;
        report(step, step.status, 0, r.reason || "terminated");
      }
      cb(null, { ok: true, reason: "" });
    },

    freeJob(call, cb) {
      const node = nodeOf(call);
      for (const [key, step] of node.steps) {
        if (step.jobId !== call.request.jobId) continue;
        end(step);
        node.steps.delete(key);
      }
      bump(stats.freed);
      cb(null, { ok: true });
    },

    readStepLog(call) {
      call.end(); // nothing runs, so nothing was written
    },

    openStepStream(_call, cb) {
      cb(null, { ok: false, reason: "a simulated node runs no containers", url: "", code: ErrCode.ERR_CRI_DISABLED });
    },

    stepStatusChange(_call, cb) {
      cb(null, { ok: false }); // a supervisor's report: simulated nodes have none
    },
  };
  const server = new grpc.Server();
  const fromCtld = requireNodeKey((n) => nodes.get(n)?.key, "is for crane's control daemon only: the call carries no key, or not that simulated node's");
  server.addService(CranedService, safeHandlers(service, log.error, { authenticate: fromCtld }));
  const listenAddr = opts.listenAddr ?? config.cranedListenAddr;
  const port = await bindServer(server, `${listenAddr}:${opts.port}`);
  const address = `${listenAddr === "0.0.0.0" ? "127.0.0.1" : listenAddr}:${port}`;

  // ---- standing with ctld, as craned's Registration: register, then ping; "re-register" registers again
  const register = async (node: SimNode): Promise<void> => {
    const reply = await unary(
      ctld,
      ctld.cranedRegister,
      {
        node: node.config.name,
        address,
        resources: { cpu: node.config.cpu, memoryBytes: node.config.memoryBytes, gres: {} },
        steps: [...node.steps.values()].map((s) => ({ jobId: s.jobId, stepId: s.stepId, status: s.status })),
        version: "simulated",
        containerEnabled: false,
      },
      CALL_TIMEOUT_MS,
      asNode(node),
    );
    if (!reply.ok) throw new Error(reply.reason);
    for (const o of reply.orphanSteps) {
      const step = node.steps.get(`${o.jobId}.${o.stepId}`);
      if (step) end(step);
      node.steps.delete(`${o.jobId}.${o.stepId}`);
    }
    node.registered = true;
    stats.registered++;
  };
  const beat = async (node: SimNode): Promise<void> => {
    if (node.beating || stopped) return;
    node.beating = true;
    try {
      if (!node.registered) return await register(node);
      const reply = await unary(ctld, ctld.cranedPing, { node: node.config.name }, CALL_TIMEOUT_MS, asNode(node));
      if (reply.reregister) {
        node.registered = false;
        stats.registered--;
        await register(node);
      }
    } catch (e) {
      if (node.registered) {
        log.warn(`ctld unreachable for ${node.config.name}: ${(e as Error).message}`);
        node.registered = false;
        stats.registered--;
      } else if (!isUnavailable(e) && !node.warned) {
        node.warned = true; // refused (not merely "ctld is not up yet"): say why, once
        log.warn(`registering ${node.config.name} failed (will retry): ${(e as Error).message}`);
      }
    } finally {
      node.beating = false;
    }
  };
  // Until all are registered (ctld may still be starting, or forgot some), retry the others quickly.
  let registeringAll = false;
  const registerAll = async () => {
    if (registeringAll) return;
    registeringAll = true;
    try {
      for (;;) {
        const left = list.filter((n) => !n.registered);
        if (stopped || left.length === 0) return;
        await Promise.all(left.map((n) => registrations.run(() => beat(n))));
        if (list.some((n) => !n.registered)) await sleep(250);
      }
    } finally {
      registeringAll = false;
    }
  };
  void registerAll();
  let cursor = 0;
  const perSlice = Math.max(1, Math.ceil((list.length * HEARTBEAT_SLICE_MS) / (config.pingIntervalSeconds * 1000)));
  const heartbeats = setInterval(() => {
    for (let i = 0; i < Math.min(perSlice, list.length); i++) {
      const node = list[cursor++ % list.length]!;
      if (node.registered) void beat(node); // the unregistered ones are registerAll's (or the next full round's)
    }
    if (cursor >= list.length) {
      cursor = 0;
      if (stats.registered < list.length) void registerAll();
    }
  }, HEARTBEAT_SLICE_MS);
  ticks.start();
  log.info(`${list.length} simulated nodes serving on ${address}`);

  return {
    port,
    stats: () => structuredClone(stats),
    async waitRegistered(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (stats.registered < list.length) {
        if (Date.now() > deadline) throw new Error(`only ${stats.registered} of ${list.length} simulated nodes registered within ${timeoutMs / 1000} s`);
        await sleep(50);
      }
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeats);
      ticks.stop();
      server.forceShutdown();
      ctld.close();
    },
  };
}
