// The cluster configuration shared by every role: one YAML file, validated once at load.
// Key names follow CraneSched's where they exist (ControlMachine, CraneCtldListenPort, Nodes, Partitions,
// Container.*). With no file at all, an embedded default describes a one-node local cluster.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { expandHostlist } from "./parse/hostlist";
import { parseMemory } from "./parse/memory";
import { parseTimeLimit } from "./parse/time";
import { parseLimits, type LimitsConfig } from "./config-limits";
import { findUnknownKeys, type UnknownKey } from "./config-schema";
import type { ContainerConfig, GresConfig, NodeConfig, PartitionConfig } from "./config-types";

export type { ContainerConfig, GresConfig, NodeConfig, PartitionConfig } from "./config-types";

/** PrivateData, the request and per-user limits and Craned.JobPidsMax: see config-limits.ts. */
export interface CraneConfig extends LimitsConfig {
  file: string; // "" for the embedded default
  clusterName: string;
  controlMachine: string;
  ctldListenAddr: string;
  ctldPort: number;
  ctldInternalPort: number;
  cranedListenAddr: string;
  cranedPort: number;
  baseDir: string;
  ctldStateDir: string;
  /** Parent of each node's runtime directory (per-boot step files, core/node/layout.ts): `<this>/<node>`. */
  cranedRuntimeDir: string;
  /** Seconds without a ping after which ctld marks a node down. */
  cranedTimeoutSeconds: number;
  pingIntervalSeconds: number;
  /**
   * TCP port of craned's stream proxy (attach/exec sessions from other nodes reach the runtime's loopback stream
   * server through it); 0 = any free port, announced in the URLs craned hands out.
   */
  cranedStreamPort: number;
  /** What happens to the jobs of a node that went down: requeue them or end them as Failed. */
  jobRequeue: boolean;
  scheduleIntervalMs: number;
  /** Port of ctld's Prometheus endpoint (plain HTTP); 0 = off. */
  metricsPort: number;
  metricsListenAddr: string;
  /** Days ctld keeps a finished job in its database (the accounting history, cacct); 0 = forever. */
  jobHistoryRetentionDays: number;
  nodes: NodeConfig[];
  partitions: PartitionConfig[];
  defaultPartition: string;
  container: ContainerConfig;
  /** Administrators (by uid) may act on every user's jobs; root always may. */
  adminUids: number[];
  /** ctld's secret, from which each node's own key is derived (src/core/auth). */
  clusterKeyFile: string;
  /** Where a craned finds its node key; `%n` is the node name. */
  nodeKeyFile: string;
  /** How ctld learns who calls it: "local" (the kernel's socket owner, callers on ctld's host only) or "munge". */
  authType: "local" | "munge";
  mungeSocket: string;
  /** Seconds between a craned's sweeps for pods, containers, cgroups and logs no active job owns (0 = never). */
  housekeepingIntervalSeconds: number;
  /** Days a finished job's step logs stay on its nodes. */
  logRetentionDays: number;
  /** Keys the schema (config-schema.ts) does not know: daemons log them, `crane config check` fails on them. */
  unknownKeys: UnknownKey[];
}

/** `key` is the path of the key at fault (`Nodes[0].memory`), "" when it is the file as a whole; `reason` what is wrong with it. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly key = "",
    readonly reason = message,
  ) {
    super(message);
  }
}

export const DEFAULT_CONFIG_PATH = "/etc/crane/config.yaml";
/** Where `crane up` keeps a local cluster's state and its generated config. */
export const LOCAL_CLUSTER_DIR = process.env.CRANE_LOCAL_DIR || "/var/lib/crane/local";

/**
 * Which file to read: `-C`, then $CRANE_CONFIG, then /etc/crane/config.yaml, then the config of a local cluster
 * started by `crane up`. Returns "" when none exists (the embedded default applies).
 */
export function resolveConfigPath(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.CRANE_CONFIG) return process.env.CRANE_CONFIG;
  if (fs.existsSync(DEFAULT_CONFIG_PATH)) return DEFAULT_CONFIG_PATH;
  const local = path.join(LOCAL_CLUSTER_DIR, "config.yaml");
  if (fs.existsSync(local)) return local;
  return "";
}

export function loadConfig(explicit?: string): CraneConfig {
  const file = resolveConfigPath(explicit);
  return parseConfig(file ? readConfigDocument(file) : {}, file);
}

/** The YAML mapping in a config file, not yet validated. */
export function readConfigDocument(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`Failed to read config file ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text) ?? {};
  } catch (e) {
    throw new ConfigError(`Config syntax error in ${file}: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`Config file ${file} must hold a YAML mapping of keys (e.g. "ControlMachine: host1")`);
  }
  return raw as Record<string, unknown>;
}

/** The machine this process runs on, as a node of the embedded one-node cluster. */
export function localNodeDefaults(): NodeConfig {
  return {
    name: os.hostname().split(".")[0] || "localhost",
    address: "127.0.0.1",
    port: 0,
    cpu: os.availableParallelism(),
    memoryBytes: Math.floor((os.totalmem() * 0.9) / 1048576) * 1048576,
    gres: [],
  };
}

/** Validates a parsed YAML document. Every error names the key and the file. */
export function parseConfig(raw: Record<string, unknown>, file: string): CraneConfig {
  const where = file || "the embedded default config";
  const fail = (key: string, what: string): never => {
    throw new ConfigError(`${key} in ${where}: ${what}`, key, what);
  };
  const str = (obj: Record<string, unknown>, key: string, dflt: string, label = key): string => {
    const v = obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "string" && typeof v !== "number") fail(label, `expected a string, got ${JSON.stringify(v)}`);
    return String(v);
  };
  const num = (obj: Record<string, unknown>, key: string, dflt: number, label = key, min = 0): number => {
    const v = obj[key];
    if (v === undefined || v === null) return dflt;
    const n = typeof v === "number" ? v : Number(v);
    if (!Number.isFinite(n) || n < min) fail(label, `expected a number >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const bool = (obj: Record<string, unknown>, key: string, dflt: boolean, label = key): boolean => {
    const v = obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v === "boolean") return v;
    if (v === "true" || v === "yes") return true;
    if (v === "false" || v === "no") return false;
    return fail(label, `expected true or false, got ${JSON.stringify(v)}`);
  };
  const mapping = (v: unknown, label: string): Record<string, unknown> => {
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) fail(label, "expected a mapping of keys");
    return v as Record<string, unknown>;
  };
  const memory = (obj: Record<string, unknown>, key: string, label: string): number => {
    const v = obj[key];
    if (v === undefined || v === null) return 0;
    try {
      return parseMemory(String(v));
    } catch (e) {
      return fail(label, `${(e as Error).message} (examples: 512M, 16G)`);
    }
  };
  const baseDir = str(raw, "CraneBaseDir", "/var/crane");
  const ctldSection = mapping(raw.CraneCtld, "CraneCtld");
  const cranedSection = mapping(raw.Craned, "Craned");

  const nodes: NodeConfig[] = [];
  if (raw.Nodes === undefined) {
    nodes.push(localNodeDefaults());
  } else {
    if (!Array.isArray(raw.Nodes)) fail("Nodes", "expected a list of {name, cpu, memory}");
    (raw.Nodes as unknown[]).forEach((entry, i) => {
      const label = `Nodes[${i}]`;
      const n = mapping(entry, label);
      const names = str(n, "name", "", `${label}.name`);
      if (!names) fail(`${label}.name`, "is required (a host name or host list such as cn[01-04])");
      let expanded: string[];
      try {
        expanded = expandHostlist(names);
      } catch (e) {
        return fail(`${label}.name`, (e as Error).message);
      }
      if (n.cpu === undefined) fail(`${label}.cpu`, "is required (number of CPU cores)");
      const cpu = num(n, "cpu", 0, `${label}.cpu`, 0.01);
      if (n.memory === undefined) fail(`${label}.memory`, "is required (e.g. 16G)");
      const memoryBytes = memory(n, "memory", `${label}.memory`);
      const gres: GresConfig[] = [];
      if (n.gres !== undefined) {
        if (!Array.isArray(n.gres)) fail(`${label}.gres`, "expected a list of {name, type, DeviceFileList}");
        (n.gres as unknown[]).forEach((g, j) => {
          const glabel = `${label}.gres[${j}]`;
          const gm = mapping(g, glabel);
          const name = str(gm, "name", "", `${glabel}.name`);
          if (!name) fail(`${glabel}.name`, "is required (e.g. gpu)");
          const files = gm.DeviceFileList ?? gm.DeviceFileRegex ?? gm.deviceFiles;
          let deviceFiles: string[] = [];
          if (files !== undefined) {
            try {
              deviceFiles = (Array.isArray(files) ? files.map(String) : [String(files)]).flatMap((f) => expandHostlist(f));
            } catch (e) {
              fail(`${glabel}.DeviceFileList`, (e as Error).message);
            }
          }
          const count = num(gm, "count", deviceFiles.length, `${glabel}.count`, 0);
          if (count === 0) fail(`${glabel}`, "needs DeviceFileList (e.g. /dev/nvidia[0-3]) or a count");
          gres.push({ name, type: str(gm, "type", "", `${glabel}.type`), count, deviceFiles });
        });
      }
      const address = str(n, "address", "", `${label}.address`);
      if (address && expanded.length > 1) fail(`${label}.address`, "can be given only for a single node (here several are named)");
      const port = num(n, "port", 0, `${label}.port`, 0);
      for (const name of expanded) nodes.push({ name, address: address || name, port, cpu, memoryBytes, gres });
    });
  }
  const nodeNames = new Set<string>();
  for (const n of nodes) {
    if (nodeNames.has(n.name)) fail("Nodes", `node "${n.name}" is defined twice`);
    nodeNames.add(n.name);
  }

  const partitions: PartitionConfig[] = [];
  if (raw.Partitions === undefined) {
    partitions.push({
      name: "CPU",
      nodes: nodes.map((n) => n.name),
      priority: 0,
      defaultMemPerCpuBytes: 0,
      defaultMemPerNodeBytes: 0,
      maxMemPerNodeBytes: 0,
      maxTimeSeconds: 0,
    });
  } else {
    if (!Array.isArray(raw.Partitions)) fail("Partitions", "expected a list of {name, nodes}");
    (raw.Partitions as unknown[]).forEach((entry, i) => {
      const label = `Partitions[${i}]`;
      const p = mapping(entry, label);
      const name = str(p, "name", "", `${label}.name`);
      if (!name) fail(`${label}.name`, "is required");
      const spec = str(p, "nodes", "", `${label}.nodes`);
      if (!spec) fail(`${label}.nodes`, 'is required (a host list, or "ALL")');
      let members: string[];
      try {
        members = spec === "ALL" ? [...nodeNames] : expandHostlist(spec);
      } catch (e) {
        return fail(`${label}.nodes`, (e as Error).message);
      }
      for (const m of members) {
        if (!nodeNames.has(m)) fail(`${label}.nodes`, `node "${m}" is not defined under Nodes`);
      }
      const maxTime = p.MaxTime === undefined ? 0 : parseTimeOrFail(String(p.MaxTime), `${label}.MaxTime`, fail);
      partitions.push({
        name,
        nodes: members,
        priority: num(p, "priority", 0, `${label}.priority`),
        defaultMemPerCpuBytes: memory(p, "DefaultMemPerCpu", `${label}.DefaultMemPerCpu`),
        defaultMemPerNodeBytes: memory(p, "DefaultMemPerNode", `${label}.DefaultMemPerNode`),
        maxMemPerNodeBytes: memory(p, "MaxMemPerNode", `${label}.MaxMemPerNode`),
        maxTimeSeconds: maxTime,
      });
    });
  }
  const partitionNames = partitions.map((p) => p.name);
  if (new Set(partitionNames).size !== partitionNames.length) fail("Partitions", "a partition name is used twice");
  const defaultPartition = str(raw, "DefaultPartition", partitionNames[0] ?? "")
    .split(",")[0]!
    .trim();
  if (!partitionNames.includes(defaultPartition)) {
    fail("DefaultPartition", `partition "${defaultPartition}" does not exist (known: ${partitionNames.join(", ")})`);
  }

  const c = mapping(raw.Container, "Container");
  const runtimeEndpoint = str(c, "RuntimeEndpoint", "/run/containerd/containerd.sock", "Container.RuntimeEndpoint");
  const dns = mapping(c.Dns, "Container.Dns");
  const listOfStrings = (v: unknown, label: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) fail(label, "expected a list");
    return (v as unknown[]).map(String);
  };
  const container: ContainerConfig = {
    enabled: bool(c, "Enabled", true, "Container.Enabled"),
    runtimeEndpoint: runtimeEndpoint.replace(/^unix:\/\//, ""),
    imageEndpoint: str(c, "ImageEndpoint", runtimeEndpoint, "Container.ImageEndpoint").replace(/^unix:\/\//, ""),
    userNsEnabledByDefault: bool(c, "UserNsEnabledByDefault", false, "Container.UserNsEnabledByDefault"),
    imagePullTimeoutSeconds: num(c, "ImagePullTimeout", 300, "Container.ImagePullTimeout", 1),
    dnsServers: listOfStrings(dns.Servers, "Container.Dns.Servers"),
    dnsSearches: listOfStrings(dns.Searches, "Container.Dns.Searches"),
    clusterDomain: str(dns, "ClusterDomain", "cluster.local", "Container.Dns.ClusterDomain").replace(/^\.+|\.+$/g, ""),
    userNsHostIdStart: num(c, "UserNsHostIdStart", 200000, "Container.UserNsHostIdStart", 1),
    allowedMountPaths:
      c.AllowedMountPaths === undefined ? ["{home}", "{submit_dir}", "/tmp"] : listOfStrings(c.AllowedMountPaths, "Container.AllowedMountPaths"),
  };
  for (const p of container.allowedMountPaths) {
    if (!p.startsWith("/") && !p.startsWith("{home}") && !p.startsWith("{submit_dir}")) {
      fail("Container.AllowedMountPaths", `"${p}" is neither an absolute path nor starts with {home} or {submit_dir}`);
    }
  }
  const authType = str(raw, "AuthType", "local");
  if (authType !== "local" && authType !== "munge") fail("AuthType", `expected local or munge, got "${authType}"`);
  const cranedPort = num(raw, "CranedListenPort", 10010, "CranedListenPort", 1);
  for (const n of nodes) if (!n.port) n.port = cranedPort;

  const ctldListenAddr = str(raw, "CraneCtldListenAddr", "0.0.0.0");
  const ctldPort = num(raw, "CraneCtldListenPort", 10011, "CraneCtldListenPort", 1);
  const ctldInternalPort = num(raw, "CraneCtldForInternalListenPort", 10013, "CraneCtldForInternalListenPort", 1);
  const metricsPort = num(ctldSection, "MetricsPort", 0, "CraneCtld.MetricsPort", 0);
  if (metricsPort && (metricsPort === ctldPort || metricsPort === ctldInternalPort)) {
    fail("CraneCtld.MetricsPort", `${metricsPort} is one of ctld's gRPC ports: choose another port, or 0 to turn the endpoint off`);
  }

  const adminUids = listOfStrings(raw.AdminUids, "AdminUids").map((u) => {
    const n = Number(u);
    if (!Number.isInteger(n) || n < 0) fail("AdminUids", `"${u}" is not a numeric uid`);
    return n;
  });

  const clusterName = str(raw, "ClusterName", "crane");
  return {
    file,
    clusterName,
    controlMachine: str(raw, "ControlMachine", "127.0.0.1"),
    ctldListenAddr,
    ctldPort,
    ctldInternalPort,
    cranedListenAddr: str(raw, "CranedListenAddr", "0.0.0.0"),
    cranedPort,
    baseDir,
    ctldStateDir: str(raw, "CraneCtldStateDir", path.join(baseDir, "ctld")),
    cranedRuntimeDir: str(raw, "CranedRuntimeDir", path.join("/run/crane", clusterName.replace(/[^A-Za-z0-9_.-]/g, "_"))),
    clusterKeyFile: str(raw, "ClusterKeyFile", path.join(baseDir, "cluster.key")),
    nodeKeyFile: str(cranedSection, "NodeKeyFile", path.join(baseDir, "node-keys", "%n.key"), "Craned.NodeKeyFile"),
    authType: authType as "local" | "munge",
    mungeSocket: str(raw, "MungeSocket", "/run/munge/munge.socket.2"),
    cranedTimeoutSeconds: num(ctldSection, "CranedTimeout", 30, "CraneCtld.CranedTimeout", 1),
    jobRequeue: bool(ctldSection, "JobRequeue", false, "CraneCtld.JobRequeue"),
    scheduleIntervalMs: num(ctldSection, "ScheduleIntervalMs", 200, "CraneCtld.ScheduleIntervalMs", 10),
    metricsPort,
    metricsListenAddr: str(ctldSection, "MetricsListenAddr", ctldListenAddr, "CraneCtld.MetricsListenAddr"),
    jobHistoryRetentionDays: num(ctldSection, "JobHistoryRetentionDays", 0, "CraneCtld.JobHistoryRetentionDays", 0),
    pingIntervalSeconds: num(cranedSection, "PingInterval", 5, "Craned.PingInterval", 0.1),
    cranedStreamPort: num(cranedSection, "StreamPort", 0, "Craned.StreamPort", 0),
    housekeepingIntervalSeconds: num(cranedSection, "HousekeepingInterval", 60, "Craned.HousekeepingInterval", 0),
    logRetentionDays: num(cranedSection, "LogRetentionDays", 7, "Craned.LogRetentionDays", 0),
    ...parseLimits(ctldSection, cranedSection, fail),
    nodes,
    partitions,
    defaultPartition,
    container,
    adminUids,
    unknownKeys: findUnknownKeys(raw),
  };
}

function parseTimeOrFail(s: string, label: string, fail: (k: string, w: string) => never): number {
  try {
    return parseTimeLimit(s);
  } catch (e) {
    return fail(label, (e as Error).message);
  }
}

/** The nodes of a partition, by name. */
export function partitionByName(config: CraneConfig, name: string): PartitionConfig | undefined {
  return config.partitions.find((p) => p.name === name);
}
