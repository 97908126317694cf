// ccontrol's changes to jobs and nodes: who may change what, and when (modifyJob, modifyNode: rules over the records,
// no I/O), and the requests carried out with each change saved before it is reported (modifyJobs, modifyNodes).
// Hold and release, partition and node list apply to pending jobs only; a time limit may be lowered by the job's
// owner and raised by an administrator only, also while the job runs (as in Slurm); priority is an administrator's.
import { JobStatus, type ModifyJobReply, type ModifyJobRequest, type ModifyNodeReply, type ModifyNodeRequest } from "../../core/generated/crane/crane";
import type { Logger } from "../../core/log";
import type { ActiveJobs } from "./active-jobs";
import { admitJob, type AdmissionContext } from "./admission";
import type { NodeEntry, NodeRegistry } from "./nodes";
import type { JobStore } from "./store";
import type { JobRecord } from "./records";
import { Rejection } from "./rejection";

export interface Controller {
  uid: number;
  isAdmin: boolean;
}

/** What the request changes, in words (for the log and for a request that changes nothing). */
export function describeJobChange(req: ModifyJobRequest): string[] {
  const what: string[] = [];
  if (req.setHold) what.push(req.hold ? "hold" : "release");
  if (req.setTimeLimit) what.push(`time limit ${req.timeLimitSeconds} s`);
  if (req.setPriority) what.push(`priority ${req.priority}`);
  if (req.partition) what.push(`partition ${req.partition}`);
  if (req.setNodelist) what.push(`node list ${req.nodelist.join(",") || "(any)"}`);
  return what;
}

/**
 * Applies the request to the job, or changes nothing and returns why not ("" when applied). Every check comes
 * before the first change, so a refused request leaves the job as it was.
 */
export function modifyJob(job: JobRecord, req: ModifyJobRequest, who: Controller, ctx: AdmissionContext): string {
  if (who.uid !== job.spec.uid && !who.isAdmin) return "Permission denied: the job belongs to another user";
  const pending = job.status === JobStatus.Pending;
  const notPending = (what: string) => `the job is ${JobStatus[job.status]}: only a pending job's ${what} can change`;
  if (req.setHold && !pending) return notPending(req.hold ? "hold" : "release");
  if (req.partition && !pending) return notPending("partition");
  if (req.setNodelist && !pending) return notPending("node list");
  if (req.setPriority && !who.isAdmin) return "Permission denied: only an administrator may set a job's priority";
  if (req.setTimeLimit && !who.isAdmin) {
    const current = job.spec.timeLimitSeconds || Infinity;
    const wanted = req.timeLimitSeconds || Infinity;
    if (wanted > current) return "Permission denied: only an administrator may raise a time limit";
  }
  if (describeJobChange(req).length === 0) return "nothing to change: name at least one of hold, release, time limit, priority, partition, node list";

  const spec = {
    ...job.spec,
    hold: req.setHold ? req.hold : job.spec.hold,
    timeLimitSeconds: req.setTimeLimit ? req.timeLimitSeconds : job.spec.timeLimitSeconds,
    partition: req.partition || job.spec.partition,
    nodelist: req.setNodelist ? req.nodelist : job.spec.nodelist,
  };
  // The changed job must still be one that admission would take: its partition exists, its nodes are in it, its
  // time limit within the partition's maximum, its resources there at all.
  let admitted: JobRecord;
  try {
    admitted = admitJob(spec, { uid: job.spec.uid, gid: job.spec.gid }, ctx);
  } catch (e) {
    if (e instanceof Rejection) return e.message;
    throw e;
  }
  const partitionChanged = admitted.spec.partition !== job.spec.partition;
  job.spec = { ...spec, partition: admitted.spec.partition };
  if (pending) {
    job.reqPerNode = admitted.reqPerNode;
    job.pendingReason = job.spec.hold ? "Held" : "Priority";
    if (partitionChanged && !req.setPriority) job.priority = admitted.priority;
  }
  if (req.setPriority) job.priority = req.priority;
  return "";
}

/** A node's drain state: a drained node takes no new job; its running jobs finish. */
export function modifyNode(node: NodeEntry, state: string, reason: string): string {
  if (state === "drain") {
    if (!reason.trim()) return "a drain needs a reason (reason=...), shown by cinfo -R";
    node.drainReason = reason.trim();
    return "";
  }
  if (state === "resume") {
    if (node.drainReason === undefined) return `node ${node.name} is not drained`;
    node.drainReason = undefined;
    return "";
  }
  return `unknown node state "${state}" (known: drain, resume)`;
}

export interface JobControlDeps {
  jobs: ActiveJobs;
  store: JobStore;
  log: Logger;
  admission: () => AdmissionContext;
}

/** ModifyJob: the request applied to each job named, each change saved before it is reported made. */
export async function modifyJobs(req: ModifyJobRequest, who: Controller, d: JobControlDeps): Promise<ModifyJobReply> {
  const reply: ModifyJobReply = { modified: [], notModified: [] };
  const saves: Promise<void>[] = [];
  for (const jobId of req.jobIds) {
    const job = d.jobs.get(jobId);
    const before = job && structuredClone({ spec: job.spec, reqPerNode: job.reqPerNode, pendingReason: job.pendingReason, priority: job.priority });
    const error = job ? modifyJob(job, req, who, d.admission()) : "job does not exist or has already finished";
    if (error || !job || !before) {
      reply.notModified.push({ jobId, reason: error });
      continue;
    }
    saves.push(
      d.store.save(job).then(
        () => {
          reply.modified.push(jobId);
          d.log.info(`job ${jobId} changed by uid ${who.uid}: ${describeJobChange(req).join(", ")}`);
        },
        (e: Error) => {
          Object.assign(job, before); // not on disk, so not made
          reply.notModified.push({ jobId, reason: `ctld could not save the change: ${e.message}` });
        },
      ),
    );
  }
  await Promise.all(saves);
  return reply;
}

/** ModifyNode: drains or resumes the nodes named (administrators only), the drains saved before they are reported. */
export function modifyNodes(req: ModifyNodeRequest, who: Controller, nodes: NodeRegistry, store: JobStore, log: Logger): ModifyNodeReply {
  if (!who.isAdmin) {
    return { modified: [], notModified: req.nodes.map((n) => `${n}: Permission denied: only an administrator may drain or resume a node`) };
  }
  const reply: ModifyNodeReply = { modified: [], notModified: [] };
  const before = new Map([...nodes.nodes.values()].map((n) => [n, n.drainReason]));
  for (const name of req.nodes) {
    const node = nodes.get(name);
    const error = node ? modifyNode(node, req.state, req.reason) : `node ${name} does not exist`;
    if (error) reply.notModified.push(`${name}: ${error}`);
    else reply.modified.push(name);
  }
  if (reply.modified.length === 0) return reply;
  const drains: Record<string, string> = {};
  for (const n of nodes.nodes.values()) if (n.drainReason !== undefined) drains[n.name] = n.drainReason;
  try {
    store.saveNodeDrains(drains);
  } catch (e) {
    for (const [n, reason] of before) n.drainReason = reason; // not on disk, so not made
    return { modified: [], notModified: req.nodes.map((n) => `${n}: ctld could not save the change: ${(e as Error).message}`) };
  }
  log.info(`nodes ${reply.modified.join(",")} ${req.state === "drain" ? `drained: ${req.reason}` : "resumed"} by uid ${who.uid}`);
  return reply;
}
