// Admission: whether a submitted job may enter the queue, and the pending record it becomes. Pure but for the name
// service (the user's home and group); every refusal is a Rejection with the error code the CLI maps to a message.
import type { CraneConfig } from "../../core/config";
import { ErrCode, JobStatus, JobType, type JobSpec } from "../../core/generated/crane/crane";
import { userByUid, usernameOf } from "../../core/identity";
import { checkContainerPolicy, PolicyViolation } from "../../core/container-policy";
import type { JobRecord } from "./records";
import { feasibleEver, type PendingJob, type Resources } from "./scheduler";
import { Rejection } from "./rejection";

const UNLIMITED = Infinity;

// Whether a request could ever run in a partition depends only on the request and the partition's nodes, which do not
// change while ctld runs: answered once per distinct request (a `cbatch --repeat 1000` asks 1000 times; a partition of
// thousands of nodes makes each answer cost).
const FEASIBILITY_MEMO_SIZE = 1024;
const feasibility = new WeakMap<object, Map<string, string | null>>();

function feasibleInPartition(pending: PendingJob, partition: CraneConfig["partitions"][0], ctx: AdmissionContext): string | null {
  const memo = feasibility.get(partition) ?? new Map<string, string | null>();
  feasibility.set(partition, memo);
  const key = JSON.stringify([pending.nodeNum, pending.perNode, pending.nodelist, pending.excludes, pending.exclusive]);
  const known = memo.get(key);
  if (known !== undefined) return known;
  const pool = partition.nodes.map((name) => {
    const n = ctx.node(name)!;
    return { name, partitions: n.partitions, total: n.total, free: n.total, up: true };
  });
  const why = feasibleEver(pending, pool);
  if (memo.size >= FEASIBILITY_MEMO_SIZE) memo.clear();
  memo.set(key, why);
  return why;
}

export interface AdmissionContext {
  config: CraneConfig;
  /** A node of the config, with its partitions and total resources. */
  node: (name: string) => { partitions: string[]; total: Resources } | undefined;
  isAdmin: (uid: number) => boolean;
  now: number;
}

/** Validates a submission and turns it into a pending job record (not yet saved); throws a Rejection saying why not. */
export function admitJob(spec: JobSpec, caller: { uid: number; gid: number }, ctx: AdmissionContext): JobRecord {
  if (spec.type === JobType.Container && !ctx.config.container.enabled) {
    throw new Rejection(ErrCode.ERR_CRI_DISABLED, "CRI support is disabled in the cluster.");
  }
  const partitionName = spec.partition || ctx.config.defaultPartition;
  const partition = ctx.config.partitions.find((p) => p.name === partitionName);
  if (!partition) {
    throw new Rejection(
      ErrCode.ERR_INVALID_PARTITION,
      `partition "${partitionName}" does not exist (known: ${ctx.config.partitions.map((p) => p.name).join(", ")})`,
    );
  }
  const nodeNum = spec.nodeNum || 1;
  const ntasks = spec.ntasks || nodeNum;
  const ntasksPerNode = spec.ntasksPerNode || Math.ceil(ntasks / nodeNum);
  if (ntasksPerNode * nodeNum < ntasks) {
    throw new Rejection(ErrCode.ERR_INVALID_PARAM, "ntasks-per-node * nodes < ntasks: unable to allocate resources");
  }
  const cpusPerTask = spec.cpusPerTask > 0 ? spec.cpusPerTask : 1;
  const cpu = cpusPerTask * ntasksPerNode;
  const memoryBytes = memoryPerNode(ctx, spec.memPerNode, spec.memPerCpu, cpu, partition);
  if (partition.maxMemPerNodeBytes && memoryBytes > partition.maxMemPerNodeBytes) {
    throw new Rejection(ErrCode.ERR_INVALID_RESOURCE, `requested memory per node exceeds the partition's MaxMemPerNode`);
  }
  if (partition.maxTimeSeconds && (spec.timeLimitSeconds === 0 || spec.timeLimitSeconds > partition.maxTimeSeconds)) {
    throw new Rejection(ErrCode.ERR_TIME_LIMIT_BEYOND, `time limit exceeds the maximum of partition "${partition.name}" (${partition.maxTimeSeconds} s)`);
  }
  for (const n of [...spec.nodelist, ...spec.excludes]) {
    if (!ctx.node(n)) {
      throw new Rejection(ErrCode.ERR_INVALID_NODE_LIST, `node "${n}" does not exist`);
    }
    if (spec.nodelist.includes(n) && !partition.nodes.includes(n)) {
      throw new Rejection(ErrCode.ERR_INVALID_NODE_LIST, `node "${n}" is not in partition "${partition.name}"`);
    }
  }
  const perNode: Resources = { cpu, memoryBytes, gres: { ...spec.gresPerNode } };
  const pending = toPendingJob(0, partition.name, perNode, nodeNum, spec);
  const why = feasibleInPartition(pending, partition, ctx);
  if (why) throw new Rejection(ErrCode.ERR_NO_RESOURCE, why);

  // The job runs as its caller. Root alone may submit for another user; the group is then that user's own
  // (from the name service), or what root names for a uid without an account.
  const uid = caller.uid === 0 && spec.uid ? spec.uid : caller.uid;
  const gid = caller.uid === 0 && spec.uid ? (userByUid(spec.uid)?.gid ?? spec.gid) : caller.gid;
  if (spec.type === JobType.Container) {
    checkContainer(ctx, spec.podMeta, spec.containerMeta, { uid, gid, submitDir: spec.submitDir || spec.cwd });
  }
  const now = ctx.now;
  const containerMeta = spec.containerMeta;
  const cleanSpec: JobSpec = {
    ...spec,
    uid,
    gid,
    partition: partition.name,
    nodeNum,
    ntasks,
    ntasksPerNode,
    cpusPerTask,
    containerMeta: containerMeta && {
      ...containerMeta,
      image: containerMeta.image && { ...containerMeta.image, username: "", password: "" },
    },
  };
  return {
    jobId: 0,
    spec: cleanSpec,
    username: usernameOf(uid),
    status: JobStatus.Pending,
    pendingReason: spec.hold ? "Held" : "Priority",
    reason: "",
    exitCode: 0,
    priority: partition.priority * 1000,
    submitTime: now,
    startTime: 0,
    endTime: 0,
    nodes: [],
    allocPerNode: { cpu: 0, memoryBytes: 0, gres: {} },
    reqPerNode: perNode,
    steps: [],
    nextStepId: spec.type === JobType.Container ? 0 : 1,
    requeueCount: 0,
    pendingFree: [],
  };
}

/** The container policy (core/container-policy.ts), as a Rejection naming the rule. */
export function checkContainer(
  ctx: AdmissionContext,
  pod: JobSpec["podMeta"],
  container: JobSpec["containerMeta"],
  who: { uid: number; gid: number; submitDir: string },
): void {
  try {
    checkContainerPolicy(pod, container, { ...who, home: userByUid(who.uid)?.home ?? "", isAdmin: ctx.isAdmin(who.uid) }, ctx.config.container);
  } catch (e) {
    if (e instanceof PolicyViolation) throw new Rejection(ErrCode.ERR_PERMISSION_DENIED, e.message);
    throw e;
  }
}

/** Memory per node: what was asked, else the partition's default, else a share proportional to the CPUs asked. */
function memoryPerNode(ctx: AdmissionContext, memPerNode: number, memPerCpu: number, cpu: number, partition: CraneConfig["partitions"][0]): number {
  if (memPerNode) return memPerNode;
  if (memPerCpu) return Math.ceil(memPerCpu * cpu);
  if (partition.defaultMemPerNodeBytes) return partition.defaultMemPerNodeBytes;
  if (partition.defaultMemPerCpuBytes) return Math.ceil(partition.defaultMemPerCpuBytes * cpu);
  // Neither given: a share of the nodes' memory proportional to the CPUs asked for.
  let mem = 0;
  let cpus = 0;
  for (const name of partition.nodes) {
    const n = ctx.node(name)!;
    mem += n.total.memoryBytes;
    cpus += n.total.cpu;
  }
  return Math.floor(((mem / cpus) * cpu) / 1048576) * 1048576;
}

/** The scheduler's view of a pending job. */
export function toPendingJob(jobId: number, partition: string, perNode: Resources, nodeNum: number, spec: JobSpec, job?: JobRecord): PendingJob {
  return {
    jobId,
    partition,
    priority: job?.priority ?? 0,
    submitTime: job?.submitTime ?? 0,
    nodeNum,
    perNode,
    timeLimitMs: spec.timeLimitSeconds ? spec.timeLimitSeconds * 1000 : UNLIMITED,
    nodelist: spec.nodelist.length ? spec.nodelist : undefined,
    excludes: spec.excludes.length ? spec.excludes : undefined,
    exclusive: spec.exclusive,
    held: spec.hold,
  };
}
