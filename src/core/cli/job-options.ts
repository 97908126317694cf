// The scheduling options shared by cbatch, crun and ccon (`-N -n -c --mem -t -p ...`), their oclif flag
// definitions, and how they become the resource part of a JobSpec or StepSpec.
import { Flags } from "@oclif/core";
import os from "node:os";
import { JobSpec, JobType, PodMeta_NetworkMode, type PodMeta } from "../generated/crane/crane";
import { currentIdentity } from "../identity";
import {
  ParseError,
  parseBeginTime,
  parseDependency,
  parseGpusPerNode,
  parseGres,
  parseMemory,
  parseNodeNameList,
  parsePortMapping,
  parseTimeLimit,
  parseUserSpec,
  validateIpv4,
} from "../parse";
import { CliError, ExitCode } from "./errors";

export const resourceFlags = {
  nodes: Flags.integer({ char: "N", description: "Number of nodes" }),
  ntasks: Flags.integer({ char: "n", description: "Number of tasks" }),
  "ntasks-per-node": Flags.integer({ description: "Tasks per node" }),
  "cpus-per-task": Flags.string({ char: "c", description: "CPUs per task (may be fractional, e.g. 0.5)" }),
  mem: Flags.string({ description: "Memory per node, e.g. 512M, 4G", exclusive: ["mem-per-cpu"] }),
  "mem-per-cpu": Flags.string({ description: "Memory per CPU, e.g. 1G" }),
  gres: Flags.string({ description: "Generic resources per node, e.g. gpu:1 or gpu:a100:2" }),
  "gpus-per-node": Flags.string({ description: "GPUs per node: N or TYPE:N" }),
  time: Flags.string({ char: "t", description: "Time limit: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S" }),
  nodelist: Flags.string({ char: "w", description: "Nodes to run on (comma list or host list, e.g. cn[1-2])" }),
  exclude: Flags.string({ char: "x", description: "Nodes to avoid" }),
};

export const jobOnlyFlags = {
  partition: Flags.string({ char: "p", description: "Partition" }),
  "job-name": Flags.string({ char: "J", description: "Job name (at most 60 characters)" }),
  account: Flags.string({ char: "A", description: "Account" }),
  qos: Flags.string({ char: "q", description: "Quality of service" }),
  exclusive: Flags.boolean({ description: "Use whole nodes, shared with no other job" }),
  hold: Flags.boolean({ char: "H", description: "Submit held: the job pends until released" }),
  comment: Flags.string({ description: "A comment stored with the job" }),
  dependency: Flags.string({ char: "d", description: "Start after other jobs: afterok:ID[:ID], afterany:, afternotok:, after:, singleton (',' all, '?' any)" }),
  "kill-on-invalid-dep": Flags.boolean({ description: "Cancel the job when its dependency can never be satisfied (instead of pending)" }),
  begin: Flags.string({ char: "b", description: "Start no earlier than: now+1h, now+90, 16:30, 2026-12-24[T08:00]" }),
};

/** `--overlap`, for a step inside a job (crun, ccon run with CRANE_JOB_ID). */
export const OVERLAP_FLAG = Flags.boolean({ description: "Inside a job: share the CPUs, memory and GPUs other steps use instead of waiting for a share" });

/** Option values by long name, from directives and flags alike (strings; booleans as "true"/"false"). */
export type OptionMap = Record<string, string | undefined>;

function fail(message: string): never {
  throw new CliError(message, ExitCode.CmdArg);
}

/** Runs a parser; its ParseError becomes a usage error naming the option. */
export function parsed<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ParseError) fail(`invalid argument: ${what}: ${e.message}`);
    throw e;
  }
}

function positiveInt(name: string, v: string | undefined): number {
  if (v === undefined || v === "") return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) fail(`invalid argument: --${name} must be > 0 (got "${v}")`);
  return n;
}

/** Fills the resource and placement fields of a JobSpec from option values. */
export function applyResourceOptions(spec: JobSpec, o: OptionMap): void {
  spec.nodeNum = positiveInt("nodes", o.nodes);
  spec.ntasks = positiveInt("ntasks", o.ntasks);
  spec.ntasksPerNode = positiveInt("ntasks-per-node", o["ntasks-per-node"]);
  if (o["cpus-per-task"] !== undefined) {
    const c = Number(o["cpus-per-task"]);
    if (!Number.isFinite(c) || c <= 0) fail(`invalid argument: --cpus-per-task must be a number > 0 (got "${o["cpus-per-task"]}")`);
    spec.cpusPerTask = c;
  }
  if (o.mem && o["mem-per-cpu"]) fail("--mem and --mem-per-cpu are mutually exclusive");
  if (o.mem) spec.memPerNode = parsed("--mem", () => parseMemory(o.mem!));
  if (o["mem-per-cpu"]) spec.memPerCpu = parsed("--mem-per-cpu", () => parseMemory(o["mem-per-cpu"]!));
  const gres = o.gres ? parsed("--gres", () => parseGres(o.gres!)) : {};
  if (o["gpus-per-node"]) {
    if (Object.keys(gres).some((k) => k === "gpu" || k.startsWith("gpu:"))) {
      fail("invalid argument: cannot specify both --gres gpus and --gpus-per-node flags simultaneously");
    }
    Object.assign(
      gres,
      parsed("--gpus-per-node", () => parseGpusPerNode(o["gpus-per-node"]!)),
    );
  }
  spec.gresPerNode = gres;
  if (o.time) spec.timeLimitSeconds = parsed("--time", () => parseTimeLimit(o.time!));
  if (o.nodelist) spec.nodelist = parsed("--nodelist", () => parseNodeNameList(o.nodelist!, "--nodelist"));
  if (o.exclude) spec.excludes = parsed("--exclude", () => parseNodeNameList(o.exclude!, "--exclude"));
  const nodes = spec.nodeNum || 1;
  if (spec.ntasksPerNode && spec.ntasks && spec.ntasksPerNode * nodes < spec.ntasks) {
    fail("invalid argument: --ntasks-per-node * --nodes < --ntasks, unable to allocate resources");
  }
  if (spec.nodelist.length > nodes && !o.nodes) spec.nodeNum = spec.nodelist.length;
}

export function applyJobOptions(spec: JobSpec, o: OptionMap): void {
  if (o.partition) spec.partition = o.partition;
  if (o["job-name"] !== undefined) {
    if (o["job-name"].length > 60) fail("invalid argument: name is too long (up to 60)");
    spec.name = o["job-name"];
  }
  if (o.account) spec.account = o.account;
  if (o.qos) spec.qos = o.qos;
  if (o.exclusive === "true") spec.exclusive = true;
  if (o.hold === "true") spec.hold = true;
  if (o.comment) spec.extraAttr = JSON.stringify({ comment: o.comment });
  if (o.dependency) {
    const { dependencies, anyOf } = parsed("--dependency", () => parseDependency(o.dependency!));
    spec.dependencies = dependencies;
    spec.dependencyAnyOf = anyOf;
  }
  if (o["kill-on-invalid-dep"] === "true") spec.killOnInvalidDep = true;
  if (o.begin) spec.beginTime = parsed("--begin", () => parseBeginTime(o.begin!, new Date()));
}

/** A JobSpec with the caller's identity and submission context filled in. */
export function baseJobSpec(type: JobType): JobSpec {
  const id = currentIdentity();
  return JobSpec.fromPartial({
    type,
    uid: id.uid,
    gid: id.gid,
    cwd: process.cwd(),
    submitDir: process.cwd(),
    submitHost: os.hostname(),
    cmdLine: process.argv.slice(1).join(" "),
    cpusPerTask: 1,
  });
}

/** Job environment per --export: ALL (default), NONE/NIL (only CRANE_*), or a list of NAME and NAME=VALUE. */
export function exportedEnvironment(exp: string | undefined): Record<string, string> {
  const crane = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("CRANE_"))) as Record<string, string>;
  if (!exp || exp === "ALL") return { ...(process.env as Record<string, string>) };
  if (exp === "NONE" || exp === "NIL") return crane;
  const env: Record<string, string> = { ...crane };
  for (const item of exp.split(",")) {
    if (item === "ALL") Object.assign(env, process.env);
    else if (item.includes("=")) env[item.slice(0, item.indexOf("="))] = item.slice(item.indexOf("=") + 1);
    else if (process.env[item] !== undefined) env[item] = process.env[item]!;
  }
  return env;
}

/** Pod settings of a container job (from `ccon run` or `cbatch --pod-*`). */
export function buildPodMeta(o: { name?: string; ports?: string[]; user?: string; userns?: boolean; hostNetwork?: boolean; dns?: string[] }): PodMeta {
  const ports = (o.ports ?? []).map((p) => parsed("port mapping", () => parsePortMapping(p)));
  if (o.hostNetwork && ports.length) fail("port mapping is not supported in 'host' network mode: the container already uses the node's ports");
  if (o.hostNetwork && o.userns) {
    fail("--userns needs the pod network: a user-namespaced pod cannot join the node's network namespace (drop --network host or --userns)");
  }
  for (const d of o.dns ?? []) parsed(`dns server '${d}'`, () => validateIpv4(d));
  const id = currentIdentity();
  let runAsUser: number | undefined;
  let runAsGroup: number | undefined;
  if (o.user) {
    const u = parsed(`user specification '${o.user}'`, () => parseUserSpec(o.user!));
    runAsUser = u.uid;
    runAsGroup = u.gid ?? (u.uid === id.uid ? id.gid : undefined);
    if (!o.userns && id.uid !== 0 && (u.uid !== id.uid || (runAsGroup !== undefined && runAsGroup !== id.gid))) {
      fail("with --userns=false, only the current user and its primary group are allowed in --user");
    }
  } else if (!o.userns) {
    runAsUser = id.uid;
    runAsGroup = id.gid;
  }
  return {
    name: o.name ?? "",
    network: o.hostNetwork ? PodMeta_NetworkMode.NODE : PodMeta_NetworkMode.POD,
    userns: !!o.userns,
    runAsUser,
    runAsGroup,
    ports: ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIp: "" })),
    dnsServers: o.dns ?? [],
  };
}
