// ctld's gRPC services: the public one for user commands and the internal one for craneds.
// Handlers validate, check the caller's identity, and delegate to the JobManager.
import * as grpc from "@grpc/grpc-js";
import { ErrCode, JobStatus, type CancelJobReply, type QueryJobsRequest } from "../../core/generated/crane/crane";
import { type CraneCtldServer, type CraneCtldForInternalServer } from "../../core/generated/crane/services";
import { authenticateCaller, type Caller } from "../../core/auth/caller";
import { NODE_NAME_HEADER } from "../../core/auth/node-credential";
import { waitWhileCallOpen } from "../../core/rpc";
import type { Logger } from "../../core/log";
import { JobManager, Rejection } from "./job-manager";
import { findStep, type JobRecord } from "./records";
import { jobInfo } from "./job-info";
import { nodeInfos, partitionInfos } from "./cluster-info";
import type { WatchHub } from "./watch";
import { checkBatchSubmission, checkQueryItems, querySets } from "./limits";
import { viewerOf, visibleJobInfo } from "./privacy";
import { markSeen } from "./nodes";
import { failStream, grpcError, proxyLogs } from "./log-relay";
import { queryJobHistory } from "./history";
import { signalJob } from "./signal";
import { signalName } from "../../core/signals";

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

function matches(job: JobRecord, q: QueryJobsRequest): boolean {
  const s = querySets(q);
  if (q.jobIds.length && !s.jobIds.has(job.jobId)) return false;
  if (q.states.length && !s.states.has(job.status)) return false;
  if (q.users.length && !s.users.has(job.username)) return false;
  if (q.partitions.length && !s.partitions.has(job.spec.partition)) return false;
  if (q.names.length && !s.names.has(job.spec.name)) return false;
  if (q.types.length && !s.types.has(job.spec.type)) return false;
  if (q.nodes.length && !job.nodes.some((n) => s.nodes.has(n))) return false;
  return true;
}

/** The refusal `check` throws, as a reply's code and reason (undefined when it passes). */
function refusalOf(check: () => void): { ok: false; code: ErrCode; reason: string } | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    return rejectionReply(e);
  }
}

function rejectionReply(e: unknown): { ok: false; code: ErrCode; reason: string } {
  if (e instanceof Rejection) return { ok: false, code: e.code, reason: e.message };
  throw e;
}

export function publicService(jm: JobManager, log: Logger, watch: WatchHub): CraneCtldServer {
  const auth = { type: jm.config.authType, serverPort: jm.config.ctldPort, mungeSocket: jm.config.mungeSocket };
  const requireCaller = (call: AnyCall): Promise<Caller> => authenticateCaller(call, auth);
  return {
    async submitBatchJob(call, cb) {
      const caller = await requireCaller(call);
      if (!call.request.job) return cb(null, { ok: false, jobId: 0, code: ErrCode.ERR_INVALID_PARAM, reason: "request has no job" });
      try {
        const jobId = await jm.submitJob(call.request.job, caller);
        cb(null, { ok: true, jobId, code: ErrCode.SUCCESS, reason: "" });
      } catch (e) {
        cb(null, { jobId: 0, ...rejectionReply(e) });
      }
    },

    async submitBatchJobs(call, cb) {
      const caller = await requireCaller(call);
      const { job, count } = call.request;
      const reply = { jobIds: [] as number[], codes: [] as ErrCode[], reasons: [] as string[] };
      if (!job) return cb(null, { ...reply, codes: [ErrCode.ERR_INVALID_PARAM], reasons: ["request has no job"] });
      const n = Math.max(count, 1);
      const refused = refusalOf(() => checkBatchSubmission(job, n, caller, jm.config.limits, jm.jobs.countOf(caller.uid)));
      if (refused) return cb(null, { ...reply, codes: [refused.code], reasons: [refused.reason] });
      const results = await Promise.allSettled(Array.from({ length: n }, () => jm.submitJob(job, caller)));
      for (const r of results) {
        if (r.status === "fulfilled") reply.jobIds.push(r.value);
        else {
          const rej = rejectionReply(r.reason);
          reply.codes.push(rej.code);
          reply.reasons.push(rej.reason);
        }
      }
      cb(null, reply);
    },

    async submitStep(call, cb) {
      const caller = await requireCaller(call);
      const step = call.request.step;
      if (!step) return cb(null, { ok: false, jobId: 0, stepId: 0, code: ErrCode.ERR_INVALID_PARAM, reason: "request has no step" });
      try {
        const stepId = await jm.submitStep(step, caller);
        cb(null, { ok: true, jobId: step.jobId, stepId, code: ErrCode.SUCCESS, reason: "" });
      } catch (e) {
        cb(null, { jobId: step.jobId, stepId: 0, ...rejectionReply(e) });
      }
    },

    async queryJobsInfo(call, cb) {
      const caller = await requireCaller(call);
      checkQueryItems(call.request, jm.config.limits, "QueryJobsInfo");
      const q = { ...call.request, jobIds: jm.jobs.expandArraySelectors(call.request.jobIds).selectors };
      if (call.request.jobIds.length && !q.jobIds.length) return cb(null, { ok: true, jobs: [] });
      const limit = q.limit || 100_000;
      const active = [...jm.jobs.values()].filter((j) => matches(j, q));
      let finished: JobRecord[] = [];
      if (q.includeCompleted) {
        const ids = q.jobIds.map((s) => s.jobId).filter((id) => !jm.jobs.has(id));
        finished = (q.jobIds.length ? jm.loadFinished(limit, ids) : jm.loadFinished(limit)).filter((j) => matches(j, q));
      }
      const jobs = [...active, ...finished].sort((a, b) => b.jobId - a.jobId).slice(0, limit);
      const viewer = viewerOf(jm.config, caller.uid);
      cb(null, { ok: true, jobs: jobs.map((j) => visibleJobInfo(jobInfo(j), viewer, jm.config.privateData)) });
    },

    async queryJobHistory(call, cb) {
      const caller = await requireCaller(call);
      cb(null, queryJobHistory({ config: jm.config, store: jm.store, jobs: jm.jobs.values() }, caller.uid, call.request));
    },

    async cancelJob(call, cb) {
      const caller = await requireCaller(call);
      const q = call.request;
      checkQueryItems(q, jm.config.limits, "CancelJob");
      const reply: CancelJobReply = { cancelled: [], notCancelled: [] };
      const targets: { jobId: number; stepIds: number[] }[] = [];
      if (q.jobIds.length) {
        const { selectors, missing } = jm.jobs.expandArraySelectors(q.jobIds);
        targets.push(...selectors);
        for (const m of missing) {
          reply.notCancelled.push({ jobId: m.jobId, stepId: 0, reason: `array task ${m.jobId}_${m.arrayTaskId} does not exist or has already finished` });
        }
      } else {
        for (const job of jm.jobs.values()) targets.push({ jobId: job.jobId, stepIds: [] });
      }
      const filtered = targets.filter((t) => {
        const job = jm.jobs.get(t.jobId);
        if (!job) return true; // reported as not found below
        if (q.partition && job.spec.partition !== q.partition) return false;
        if (q.name && job.spec.name !== q.name) return false;
        if (q.user && job.username !== q.user) return false;
        if (q.account && job.spec.account !== q.account) return false;
        if (q.state !== undefined && job.status !== q.state) return false;
        if (q.nodes.length && !job.nodes.some((n) => q.nodes.includes(n))) return false;
        // A filter-only cancel touches only the caller's own jobs (all jobs for an admin).
        if (!q.jobIds.length && !jm.mayControl(caller.uid, job)) return false;
        return true;
      });
      const signal = q.signal ? signalName(q.signal) : undefined;
      if (q.signal && !signal) throw grpcError(grpc.status.INVALID_ARGUMENT, `"${q.signal}" is not a signal: give a name such as USR1 or SIGUSR1, or a number`);
      for (const t of filtered) {
        if (signal) {
          const job = jm.jobs.get(t.jobId);
          let err = "job does not exist or has already finished";
          if (job)
            err = jm.mayControl(caller.uid, job)
              ? await signalJob(job, t.stepIds, signal, jm.nodeClient)
              : "Permission denied: the job belongs to another user";
          if (err) reply.notCancelled.push({ jobId: t.jobId, stepId: t.stepIds[0] ?? 0, reason: err });
          else reply.cancelled.push({ jobId: t.jobId, stepIds: t.stepIds });
          continue;
        }
        if (t.stepIds.length === 0) {
          const err = await jm.cancel(t.jobId, undefined, caller);
          if (err) reply.notCancelled.push({ jobId: t.jobId, stepId: 0, reason: err });
          else reply.cancelled.push({ jobId: t.jobId, stepIds: [] });
          continue;
        }
        const done: number[] = [];
        for (const s of t.stepIds) {
          const err = await jm.cancel(t.jobId, s, caller, q.graceSeconds);
          if (err) reply.notCancelled.push({ jobId: t.jobId, stepId: s, reason: err });
          else done.push(s);
        }
        if (done.length) reply.cancelled.push({ jobId: t.jobId, stepIds: done });
      }
      cb(null, reply);
    },

    async modifyJob(call, cb) {
      const caller = await requireCaller(call);
      checkQueryItems({ jobIds: call.request.jobIds, nodelist: call.request.nodelist }, jm.config.limits, "ModifyJob");
      cb(null, await jm.modifyJobs(call.request, caller));
    },

    async modifyNode(call, cb) {
      const caller = await requireCaller(call);
      checkQueryItems({ nodes: call.request.nodes }, jm.config.limits, "ModifyNode");
      cb(null, jm.modifyNodes(call.request, caller));
    },

    async queryClusterInfo(call, cb) {
      await requireCaller(call);
      const q = call.request;
      checkQueryItems(q, jm.config.limits, "QueryClusterInfo");
      cb(null, { partitions: partitionInfos(jm, q), nodes: nodeInfos(jm, q) });
    },

    async watchCluster(call) {
      let caller: Caller;
      try {
        caller = await requireCaller(call);
        checkQueryItems(call.request, jm.config.limits, "WatchCluster");
      } catch (e) {
        return void call.emit("error", e);
      }
      await watch.serve(call, caller);
    },

    async streamStepLog(call) {
      const caller = await requireCaller(call);
      const req = call.request;
      // A follow of a job that still waits for its nodes waits for it to start: its steps exist from then on. So a
      // client can follow a job right after submitting it, without polling for its start.
      const waiting = () => jm.jobs.get(req.jobId)?.status === JobStatus.Pending;
      if (req.follow && waiting() && jm.mayControl(caller.uid, jm.jobs.get(req.jobId)!)) await waitWhileCallOpen(call, () => !waiting());
      const found = jm.findJob(req.jobId);
      const step = found && findStep(found, req.stepId);
      if (!found || !step) {
        failStream(call, grpcError(grpc.status.NOT_FOUND, `step ${req.jobId}.${req.stepId} does not exist`));
        return;
      }
      if (!jm.mayControl(caller.uid, found)) {
        failStream(call, grpcError(grpc.status.PERMISSION_DENIED, `step ${req.jobId}.${req.stepId} belongs to another user`));
        return;
      }
      const targets = req.node ? [req.node] : step.nodes;
      for (const t of targets) {
        if (!step.nodes.includes(t)) {
          failStream(
            call,
            grpcError(grpc.status.INVALID_ARGUMENT, `step ${req.jobId}.${req.stepId} did not run on node "${t}" (its nodes: ${step.nodes.join(",")})`),
          );
          return;
        }
      }
      await proxyLogs(jm, call, targets, req, log);
    },

    async openStepStream(call, cb) {
      const caller = await requireCaller(call);
      const req = call.request;
      const job = jm.jobs.get(req.jobId);
      const step = job && findStep(job, req.stepId);
      const fail = (code: ErrCode, reason: string) => cb(null, { ok: false, code, reason, url: "", node: "" });
      if (!job || !step || req.stepId === 0) return fail(ErrCode.ERR_INVALID_JOB_ID, `step ${req.jobId}.${req.stepId} does not exist or has finished`);
      if (!jm.mayControl(caller.uid, job)) return fail(ErrCode.ERR_PERMISSION_USER, `Insufficient permission to ${req.attach ? "attach" : "exec"}.`);
      if (!step.containerMeta && !step.pty)
        return fail(ErrCode.ERR_INVALID_PARAM, `step ${req.jobId}.${req.stepId} is neither a container nor a crun --pty step`);
      if (step.status !== JobStatus.Running) return fail(ErrCode.ERR_CRI_CONTAINER_NOT_READY, `step is ${JobStatus[step.status]}, not Running`);
      if (!step.containerMeta) {
        // crun --pty: its terminal is task 0's, on the step's first node; there is nothing to exec into.
        if (!req.attach || !req.tty || !req.stdin)
          return fail(ErrCode.ERR_INVALID_PARAM, "a crun --pty step can only be attached to, with a terminal and stdin");
        return openNodeStream(step.nodes[0]!);
      }
      if (!req.node && step.nodes.length > 1)
        return fail(ErrCode.ERR_CRI_MULTIPLE_NODES, `container runs on several nodes (${step.nodes.join(",")}): choose one with -n`);
      const node = req.node || step.nodes[0]!;
      const entry = jm.nodes.get(node);
      if (!step.nodes.includes(node) || !entry?.client) return fail(ErrCode.ERR_NO_ENOUGH_NODE, `container is not running on node "${node}"`);
      // An attach joins the container's own streams, so its terminal setting must match; an exec makes its own.
      if (req.attach && req.tty && !step.containerMeta.tty) return fail(ErrCode.ERR_INVALID_PARAM, "TTY not enabled when creating this container step.");
      if (req.attach && !req.tty && step.containerMeta.tty) return fail(ErrCode.ERR_INVALID_PARAM, "this container step has a TTY: attach with --tty.");
      if (req.attach && req.stdin && !step.containerMeta.stdin) return fail(ErrCode.ERR_INVALID_PARAM, "STDIN not opened when creating this container step.");
      return openNodeStream(node);

      async function openNodeStream(node: string) {
        try {
          const r = await jm.nodeClient.openStream(node, req);
          cb(null, { ok: r.ok, code: r.code, reason: r.reason, url: r.url, node });
        } catch (e) {
          fail(ErrCode.ERR_RPC_FAILURE, `node ${node} did not answer: ${(e as Error).message}`);
        }
      }
    },
  };
}

/**
 * A node acts only as itself: a request about another node than the one whose key the call carried (checked by
 * safeHandlers' node hook) is refused.
 */
function asCallingNode(call: grpc.ServerUnaryCall<{ node: string }, unknown>): void {
  const caller = call.metadata.get(NODE_NAME_HEADER)[0];
  if (call.request.node !== caller) {
    throw Object.assign(new Error(`node ${String(caller)} may not speak for node "${call.request.node}"`), { code: grpc.status.PERMISSION_DENIED });
  }
}

export function internalService(jm: JobManager, log: Logger): CraneCtldForInternalServer {
  return {
    async cranedRegister(call, cb) {
      asCallingNode(call);
      const r = call.request;
      const node = jm.nodes.markRegistered(r.node, r.containerEnabled);
      if (!node) {
        const known = [...jm.nodes.nodes.keys()].join(", ");
        return cb(null, { ok: false, reason: `node "${r.node}" is not in the cluster configuration (known: ${known})`, orphanSteps: [] });
      }
      log.info(`node ${r.node} registered (dialled at ${node.address}) with ${r.steps.length} steps still held`);
      const orphans = await jm.onNodeRegister(node, r.steps);
      cb(null, { ok: true, reason: "", orphanSteps: orphans.map((o) => ({ ...o, status: JobStatus.Cancelled })) });
    },

    cranedPing(call, cb) {
      asCallingNode(call);
      const node = jm.nodes.get(call.request.node);
      if (!node || !node.registered) return cb(null, { ok: false, reregister: true });
      markSeen(node);
      cb(null, { ok: true, reregister: false });
    },

    async stepStatusChange(call, cb) {
      asCallingNode(call);
      const node = jm.nodes.get(call.request.node);
      if (node) markSeen(node);
      await jm.onStepReport(call.request);
      cb(null, { ok: true });
    },
  };
}
