// ccontrol: its `key=value` arguments turned into requests, and `show` printed as Slurm's scontrol prints it
// (`Key=Value` pairs, a few per line).
import { ModifyJobRequest, type JobInfo, type ModifyNodeRequest, type NodeInfo, type PartitionInfo } from "../generated/crane/crane";
import { compressHostlist, expandHostlist, formatDuration, formatGres, formatMemoryMiB, parseJobStepSelectors, parseTimeLimit } from "../parse";
import { clusterJson, type ClusterJson } from "./cluster-info";
import type { CtldConnection } from "./ctld";
import { CliError, ExitCode } from "./errors";
import { jobJson, rfc3339, statusName, type JobJson } from "./json";

/** `1,2 3` (commas or separate arguments) as job ids; steps are refused (ccontrol acts on jobs). */
export function parseJobIds(args: string[]): number[] {
  const text = args.join(",");
  if (!text) throw new CliError("name at least one job id, e.g. ccontrol hold 12,13");
  const ids = parseJobStepSelectors(text);
  const step = ids.find((s) => s.stepId !== undefined);
  if (step) throw new CliError(`${step.jobId}.${step.stepId} is a step: ccontrol changes whole jobs (give ${step.jobId})`);
  return [...new Set(ids.map((s) => s.jobId))];
}

export function emptyJobChange(jobIds: number[]): ModifyJobRequest {
  return ModifyJobRequest.fromPartial({ jobIds });
}

/** `key=value` words, keys case-insensitive (`TimeLimit=1:00:00`, `timelimit=60`); a value may contain `=`. */
function keyValues(words: string[], known: readonly string[], what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of words) {
    const at = w.indexOf("=");
    if (at <= 0) throw new CliError(`"${w}" is not key=value (${what} takes ${known.join(", ")})`);
    const key = w.slice(0, at).toLowerCase();
    if (!known.includes(key)) throw new CliError(`unknown key "${w.slice(0, at)}" for ${what} (known: ${known.join(", ")})`);
    if (out.has(key)) throw new CliError(`${key} is given twice`);
    out.set(key, w.slice(at + 1));
  }
  return out;
}

const JOB_KEYS = ["jobid", "timelimit", "priority", "partition", "nodelist"] as const;
const NODE_KEYS = ["nodename", "state", "reason"] as const;

/**
 * `update` arguments: `job 12 TimeLimit=...` or `JobId=12 TimeLimit=...` (CraneSched's and Slurm's form), and
 * `node cn[1-2] State=drain Reason=...` or `NodeName=cn[1-2] ...`.
 */
export function parseUpdate(words: string[]): { job: ModifyJobRequest } | { node: ModifyNodeRequest } {
  const [first = "", second, ...rest] = words;
  const kind = first.toLowerCase();
  if (kind === "job" || kind === "node") {
    if (second === undefined || second.includes("=")) throw new CliError(`ccontrol update ${kind} needs the ${kind === "job" ? "job id" : "node names"} next`);
    return parseUpdate([`${kind === "job" ? "JobId" : "NodeName"}=${second}`, ...rest]);
  }
  if (/^jobid=/i.test(first)) {
    const kv = keyValues(words, JOB_KEYS, "update job");
    const req = emptyJobChange(parseJobIds([kv.get("jobid")!]));
    const limit = kv.get("timelimit");
    if (limit !== undefined) Object.assign(req, { setTimeLimit: true, timeLimitSeconds: parseTimeLimit(limit) });
    const priority = kv.get("priority");
    if (priority !== undefined) {
      if (!/^\d+$/.test(priority) || Number(priority) > 0xffffffff) throw new CliError(`Priority must be a whole number >= 0, got "${priority}"`);
      Object.assign(req, { setPriority: true, priority: Number(priority) });
    }
    const partition = kv.get("partition");
    if (partition !== undefined) {
      if (!partition) throw new CliError("Partition= needs a partition name");
      req.partition = partition;
    }
    const nodelist = kv.get("nodelist");
    if (nodelist !== undefined) Object.assign(req, { setNodelist: true, nodelist: nodelist ? expandHostlist(nodelist) : [] });
    if (kv.size === 1) throw new CliError(`nothing to change: give one of ${JOB_KEYS.slice(1).join(", ")} (key=value)`);
    return { job: req };
  }
  if (/^nodename=/i.test(first)) {
    const kv = keyValues(words, NODE_KEYS, "update node");
    const state = (kv.get("state") ?? "").toLowerCase();
    if (!state) throw new CliError("give State=drain or State=resume");
    if (state !== "drain" && state !== "resume") throw new CliError(`unknown node state "${kv.get("state")}" (known: drain, resume)`);
    const reason = kv.get("reason") ?? "";
    if (state === "drain" && !reason.trim()) throw new CliError('a drain needs a reason: Reason="..." (cinfo -R shows it)');
    return { node: { nodes: expandHostlist(kv.get("nodename")!), state, reason } };
  }
  throw new CliError("ccontrol update takes job JOBID key=value... or node NODES key=value... (or JobId=... / NodeName=...)");
}

const dash = (s: string) => s || "(null)";
const time = (ms: number) => rfc3339(ms) ?? "Unknown";
const lines = (rows: string[][]) => rows.map((r, i) => (i ? "   " : "") + r.join(" ")).join("\n");

export function showJob(j: JobInfo): string {
  const limit = j.timeLimitSeconds ? formatDuration(j.timeLimitSeconds) : "UNLIMITED";
  return lines([
    [`JobId=${j.jobId}`, `JobName=${dash(j.name)}`],
    [`UserId=${j.username}(${j.uid})`, `GroupId=${j.gid}`, `Account=${dash(j.account)}`],
    [`Priority=${j.priority}`, `Partition=${j.partition}`, `Held=${j.held ? "yes" : "no"}`, `Restarts=${j.requeueCount}`],
    [`JobState=${statusName(j.status).toUpperCase()}`, `Reason=${dash(j.status === 0 ? j.pendingReason : j.reason)}`, `ExitCode=${j.exitCode}`],
    [`TimeLimit=${limit}`, `SubmitTime=${time(j.submitTime)}`, `StartTime=${time(j.startTime)}`, `EndTime=${time(j.endTime)}`],
    [`Dependency=${dash(j.dependency)}`, `BeginTime=${j.beginTime ? time(j.beginTime) : "Unknown"}`],
    [`ReqNodeList=${dash(compressHostlist(j.reqNodes))}`, `ExcNodeList=${dash(compressHostlist(j.excludeNodes))}`],
    [`NodeList=${dash(compressHostlist(j.nodes))}`, `NumNodes=${j.nodeNum}`, `NumTasks=${j.ntasks}`, `CpusPerTask=${j.cpusPerTask}`],
    [
      `ReqRes=cpu=${j.reqPerNode?.cpu ?? 0},mem=${formatMemoryMiB(j.reqPerNode?.memoryBytes ?? 0)}`,
      `Gres=${dash(formatGres(j.reqPerNode?.gres ?? {}))}`,
      `Exclusive=${j.exclusive ? "yes" : "no"}`,
    ],
    [`WorkDir=${dash(j.cwd)}`],
    [`Command=${dash(j.cmdLine)}`],
  ]);
}

export function showNode(n: NodeInfo): string {
  return lines([
    [`NodeName=${n.name}`, `State=${n.state.toUpperCase()}`, `Partitions=${n.partitions.join(",")}`],
    [`CPUTot=${n.total?.cpu ?? 0}`, `CPUAlloc=${n.allocated?.cpu ?? 0}`],
    [`RealMemory=${formatMemoryMiB(n.total?.memoryBytes ?? 0)}`, `AllocMem=${formatMemoryMiB(n.allocated?.memoryBytes ?? 0)}`],
    [`Gres=${dash(formatGres(n.total?.gres ?? {}))}`, `GresUsed=${dash(formatGres(n.allocated?.gres ?? {}))}`],
    [`Address=${n.address}`, `LastSeen=${time(n.lastSeen)}`],
    ...(n.reason ? [[`Reason=${n.reason}`]] : []),
  ]);
}

export function showPartition(p: PartitionInfo): string {
  return lines([
    [`PartitionName=${p.name}`, `State=${p.up ? "UP" : "DOWN"}`, `Default=${p.isDefault ? "YES" : "NO"}`],
    [`Nodes=${compressHostlist(p.nodes)}`, `TotalNodes=${p.nodes.length}`],
    [`PriorityTier=${p.priority}`, `MaxTime=${p.maxTimeSeconds ? formatDuration(p.maxTimeSeconds) : "UNLIMITED"}`],
  ]);
}

/** `ccontrol hold|release|update --json`: what changed and what did not, and why. */
export interface ModifyJson {
  modified: (number | string)[];
  not_modified: { id: number | string; reason: string }[];
}

export interface Outcome {
  done: string[];
  failures: string[];
  json: ModifyJson;
}

export async function modifyJobs(ctld: CtldConnection, req: ModifyJobRequest, verb: string): Promise<Outcome> {
  const r = await ctld.call("modifyJob", req, "Failed to change the jobs");
  const modified = [...r.modified].sort((a, b) => a - b);
  return {
    done: modified.length ? [`Job ${modified.join(",")} ${verb}.`] : [],
    failures: r.notModified.map((f) => `Failed to change job ${f.jobId}: ${f.reason}.`),
    json: { modified, not_modified: r.notModified.map((f) => ({ id: f.jobId, reason: f.reason })) },
  };
}

export async function modifyNodes(ctld: CtldConnection, req: ModifyNodeRequest): Promise<Outcome> {
  const r = await ctld.call("modifyNode", req, "Failed to change the nodes");
  const failed = r.notModified.map((line) => {
    const at = line.indexOf(": ");
    return { id: line.slice(0, at), reason: line.slice(at + 2) };
  });
  return {
    done: r.modified.length ? [`Node ${compressHostlist(r.modified)} ${req.state === "drain" ? "drained" : "resumed"}.`] : [],
    failures: failed.map((f) => `Failed to change node ${f.id}: ${f.reason}.`),
    json: { modified: r.modified, not_modified: failed },
  };
}

/** `ccontrol show --json`: the jobs (as cqueue --json has them), or the nodes and partitions (as cinfo --json). */
export type ShowJson = { jobs: JobJson[] } | ClusterJson;

/** Every active job of the caller's view (and the finished one named), printed in detail. */
export async function showJobs(ctld: CtldConnection, name: string | undefined): Promise<{ text: string; json: ShowJson }> {
  const jobId = name === undefined ? undefined : parseJobIds([name])[0];
  const r = await ctld.call(
    "queryJobsInfo",
    {
      jobIds: jobId === undefined ? [] : [{ jobId, stepIds: [] }],
      states: [],
      users: [],
      partitions: [],
      names: [],
      types: [],
      includeCompleted: jobId !== undefined,
      limit: 0,
      nodes: [],
    },
    "Failed to query the jobs",
  );
  if (jobId !== undefined && !r.jobs.some((j) => j.jobId === jobId)) throw new CliError(`Job ${jobId} does not exist.`, ExitCode.Backend);
  const text = r.jobs.length ? r.jobs.map(showJob).join("\n\n") : "No jobs in the system.";
  return { text, json: { jobs: r.jobs.map(jobJson) } };
}

export async function showCluster(ctld: CtldConnection, kind: "node" | "partition", name: string | undefined): Promise<{ text: string; json: ShowJson }> {
  const names = name ? expandHostlist(name) : [];
  const r = await ctld.call(
    "queryClusterInfo",
    { partitions: kind === "partition" ? names : [], nodes: kind === "node" ? names : [], states: [] },
    "Failed to query the cluster",
  );
  const items = kind === "node" ? r.nodes.map(showNode) : r.partitions.map(showPartition);
  if (name && items.length === 0) throw new CliError(`${kind === "node" ? "Node" : "Partition"} ${name} does not exist.`, ExitCode.Backend);
  const json = clusterJson(r);
  return { text: items.join("\n\n"), json: kind === "node" ? { partitions: [], nodes: json.nodes } : { partitions: json.partitions, nodes: [] } };
}
