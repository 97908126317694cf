// The --json convention of every command: one JSON document on one line; keys in snake_case; times as RFC 3339
// strings in UTC under keys ending in `_time` (null when unknown); enums by name; durations and sizes as numbers
// whose unit is in the key (`time_limit_seconds`, `memory_bytes`). ccon's subcommands wrap theirs as
// `{"action": "<subcommand>", "data": ...}`. The shapes of jobs and steps below are shared by cqueue, ccon ps,
// pods and inspect, so that a script reads the same keys from each.
import {
  ErrCode,
  JobStatus,
  JobType,
  PodMeta_NetworkMode,
  type ContainerMeta,
  type JobInfo,
  type PodMeta,
  type ResourceSpec,
  type StepInfo,
} from "../generated/crane/crane";

/** A point in time as RFC 3339 (UTC); null when unknown (0). */
export function rfc3339(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

export function statusName(s: JobStatus): string {
  return JobStatus[s] ?? String(s);
}

export function typeName(t: JobType): string {
  return JobType[t] ?? String(t);
}

export function errCodeName(c: ErrCode): string {
  return ErrCode[c] ?? String(c);
}

/** ccon's wrapper around a subcommand's result. */
export interface CconJson<T> {
  action: string;
  data: T;
}

export interface ResourceJson {
  cpu: number;
  memory_bytes: number;
  /** GRES name (`gpu`, `gpu:a100`) -> count. */
  gres: Record<string, number>;
}

export function resourceJson(r: ResourceSpec | undefined): ResourceJson {
  return { cpu: r?.cpu ?? 0, memory_bytes: r?.memoryBytes ?? 0, gres: { ...(r?.gres ?? {}) } };
}

export interface ContainerJson {
  /** The normalised image reference; registry credentials are never printed. */
  image: string;
  pull_policy: string;
  name: string;
  command: string[];
  args: string[];
  workdir: string;
  env: Record<string, string>;
  mounts: { host_path: string; container_path: string; readonly: boolean }[];
  tty: boolean;
  stdin: boolean;
  stdin_once: boolean;
  detached: boolean;
}

export function containerJson(m: ContainerMeta): ContainerJson {
  return {
    image: m.image?.image ?? "",
    pull_policy: m.image?.pullPolicy ?? "",
    name: m.name,
    command: m.command,
    args: m.args,
    workdir: m.workdir,
    env: { ...m.env },
    mounts: m.mounts.map((x) => ({ host_path: x.hostPath, container_path: x.containerPath, readonly: x.readonly })),
    tty: m.tty,
    stdin: m.stdin,
    stdin_once: m.stdinOnce,
    detached: m.detached,
  };
}

export interface StepJson {
  job_id: number;
  step_id: number;
  name: string;
  status: string;
  type: string;
  nodes: string[];
  exit_code: number;
  reason: string;
  /** The container's image, or null for a step that is not a container. */
  image: string | null;
  res_per_node: ResourceJson;
  submit_time: string | null;
  start_time: string | null;
  end_time: string | null;
  time_limit_seconds: number;
  uid: number;
  cwd: string;
  cmd_line: string;
  argv: string[];
  container: ContainerJson | null;
  /** Node -> the runtime's container id. */
  container_ids: Record<string, string>;
}

export function stepJson(s: StepInfo): StepJson {
  return {
    job_id: s.jobId,
    step_id: s.stepId,
    name: s.name,
    status: statusName(s.status),
    type: typeName(s.type),
    nodes: s.nodes,
    exit_code: s.exitCode,
    reason: s.reason,
    image: s.containerMeta?.image?.image ?? null,
    res_per_node: resourceJson(s.resPerNode),
    submit_time: rfc3339(s.submitTime),
    start_time: rfc3339(s.startTime),
    end_time: rfc3339(s.endTime),
    time_limit_seconds: s.timeLimitSeconds,
    uid: s.uid,
    cwd: s.cwd,
    cmd_line: s.cmdLine,
    argv: s.argv,
    container: s.containerMeta ? containerJson(s.containerMeta) : null,
    container_ids: { ...s.containerIds },
  };
}

export interface PodJson {
  name: string;
  network: string;
  userns: boolean;
  run_as_user: number | null;
  run_as_group: number | null;
  ports: { host_port: number; container_port: number; protocol: string; host_ip: string }[];
  dns_servers: string[];
}

export function podJson(p: PodMeta): PodJson {
  return {
    name: p.name,
    network: PodMeta_NetworkMode[p.network] ?? String(p.network),
    userns: p.userns,
    run_as_user: p.runAsUser ?? null,
    run_as_group: p.runAsGroup ?? null,
    ports: p.ports.map((x) => ({ host_port: x.hostPort, container_port: x.containerPort, protocol: x.protocol, host_ip: x.hostIp })),
    dns_servers: p.dnsServers,
  };
}

export interface JobJson {
  job_id: number;
  name: string;
  type: string;
  user: string;
  uid: number;
  gid: number;
  partition: string;
  account: string;
  qos: string;
  status: string;
  pending_reason: string;
  reason: string;
  exit_code: number;
  nodes: string[];
  node_num: number;
  ntasks: number;
  ntasks_per_node: number;
  cpus_per_task: number;
  req_per_node: ResourceJson;
  alloc_per_node: ResourceJson;
  time_limit_seconds: number;
  submit_time: string | null;
  start_time: string | null;
  end_time: string | null;
  held: boolean;
  requeue_count: number;
  dependency: string;
  array: { array_job_id: number; task_id: number; task_count: number; task_min: number; task_max: number; max_running: number } | null;
  begin_time: string | null;
  exclusive: boolean;
  priority: number;
  req_nodes: string[];
  exclude_nodes: string[];
  cwd: string;
  cmd_line: string;
  pod: PodJson | null;
  steps: StepJson[];
}

export function jobJson(j: JobInfo): JobJson {
  return {
    job_id: j.jobId,
    name: j.name,
    type: typeName(j.type),
    user: j.username,
    uid: j.uid,
    gid: j.gid,
    partition: j.partition,
    account: j.account,
    qos: j.qos,
    status: statusName(j.status),
    pending_reason: j.pendingReason,
    reason: j.reason,
    exit_code: j.exitCode,
    nodes: j.nodes,
    node_num: j.nodeNum,
    ntasks: j.ntasks,
    ntasks_per_node: j.ntasksPerNode,
    cpus_per_task: j.cpusPerTask,
    req_per_node: resourceJson(j.reqPerNode),
    alloc_per_node: resourceJson(j.allocPerNode),
    time_limit_seconds: j.timeLimitSeconds,
    submit_time: rfc3339(j.submitTime),
    start_time: rfc3339(j.startTime),
    end_time: rfc3339(j.endTime),
    held: j.held,
    requeue_count: j.requeueCount,
    dependency: j.dependency,
    array: j.array
      ? {
          array_job_id: j.array.arrayJobId,
          task_id: j.array.taskId,
          task_count: j.array.taskCount,
          task_min: j.array.taskMin,
          task_max: j.array.taskMax,
          max_running: j.array.maxRunning,
        }
      : null,
    begin_time: rfc3339(j.beginTime),
    exclusive: j.exclusive,
    priority: j.priority,
    req_nodes: j.reqNodes,
    exclude_nodes: j.excludeNodes,
    cwd: j.cwd,
    cmd_line: j.cmdLine,
    pod: j.podMeta ? podJson(j.podMeta) : null,
    steps: j.steps.map(stepJson),
  };
}
