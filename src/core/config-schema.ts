// Every key of the configuration file, with its type, default and meaning: the one list of known keys. The loader
// (config.ts) reports keys that are not here, `crane config reference` prints this as docs/config.md, and a unit test
// checks that the parser reads exactly these keys and that each documented default is the parser's.
import { editDistance } from "./parse/edit-distance";

/** One value. `default` is what writing it out would look like in the file; `defaultText` describes a derived one. */
export interface ConfigKey {
  kind: "key";
  type: string;
  doc: string;
  default?: string | number | boolean | string[];
  defaultText?: string;
  required?: boolean;
}

export interface ConfigSection {
  kind: "section";
  doc: string;
  keys: ConfigSchema;
}

/** A list of mappings, each with the same keys (Nodes, Partitions). */
export interface ConfigList {
  kind: "list";
  doc: string;
  item: ConfigSchema;
  defaultText?: string;
}

export type ConfigEntry = ConfigKey | ConfigSection | ConfigList;
export type ConfigSchema = Record<string, ConfigEntry>;

type KeyOptions = Pick<ConfigKey, "default" | "defaultText" | "required">;

const key = (type: string, doc: string, opts: KeyOptions = {}): ConfigKey => ({ kind: "key", type, doc, ...opts });
const section = (doc: string, keys: ConfigSchema): ConfigSection => ({ kind: "section", doc, keys });
const list = (doc: string, item: ConfigSchema, defaultText?: string): ConfigList => ({ kind: "list", doc, item, ...(defaultText ? { defaultText } : {}) });

const PORT = "port";
const COUNT = "whole number";
const SECONDS = "number (seconds)";
const FLAG = "true or false";
const MEMORY = "memory size (512M, 16G)";
const SIZE = "size (bytes, or with a unit: 512K, 1M)";
const STRINGS = "list of strings";

export const CONFIG_SCHEMA: ConfigSchema = {
  ClusterName: key("string", "Name of the cluster; cgroups, pods and containers carry it, so two clusters on one host must differ.", {
    default: "crane",
  }),
  ControlMachine: key("string", "Host name or address where ctld runs; user commands and craned dial it.", { default: "127.0.0.1" }),
  CraneCtldListenAddr: key("string", "Address ctld's gRPC ports bind to.", { default: "0.0.0.0" }),
  CraneCtldListenPort: key(PORT, "ctld's port for user commands.", { default: 10011 }),
  CraneCtldForInternalListenPort: key(PORT, "ctld's port for the node daemons.", { default: 10013 }),
  CranedListenAddr: key("string", "Address craned's gRPC port binds to.", { default: "0.0.0.0" }),
  CranedListenPort: key(PORT, "craned's port, for nodes that set no port of their own.", { default: 10010 }),
  CraneBaseDir: key("path", "Root of the daemons' state (databases, keys, step directories).", { default: "/var/crane" }),
  CraneCtldStateDir: key("path", "Directory of ctld's job database.", { defaultText: "`<CraneBaseDir>/ctld`" }),
  CranedRuntimeDir: key(
    "path",
    "Where each node keeps its steps' per-boot files (specs, task pids and exit statuses, output FIFOs, batch scripts), in `<this>/<node>`: a tmpfs, since they are rewritten at every step and mean nothing after a reboot. Must be root's and writable by no one else.",
    { defaultText: "`/run/crane/<ClusterName>`" },
  ),
  ClusterKeyFile: key("path", "ctld's secret from which every node key is derived; made on first start (root, 0600).", {
    defaultText: "`<CraneBaseDir>/cluster.key`",
  }),
  AuthType: key("local or munge", "How ctld learns who calls it: the kernel's socket owner (callers on ctld's host only) or MUNGE.", {
    default: "local",
  }),
  MungeSocket: key("path", "munged's socket, for AuthType munge.", { default: "/run/munge/munge.socket.2" }),
  AdminUids: key("list of uids", "Users (by uid) who may act on every user's jobs; root always may.", { default: [] }),
  DefaultPartition: key("string", "Partition of jobs that name none.", { defaultText: "the first partition" }),
  CraneCtld: section("Settings of the control daemon.", {
    CranedTimeout: key(SECONDS, "Seconds without a ping after which ctld marks a node down.", { default: 30 }),
    JobRequeue: key(FLAG, "Requeue the jobs of a node that went down (false: they end as Failed).", { default: false }),
    ScheduleIntervalMs: key("number (milliseconds, >= 10)", "Period of the scheduling cycle's safety net; submissions start a cycle at once.", {
      default: 200,
    }),
    JobHistoryRetentionDays: key("number (days)", "Days ctld keeps a finished job in its database (the accounting history); 0 = forever.", {
      default: 0,
    }),
    MetricsPort: key(PORT, "Port of the Prometheus endpoint (plain HTTP, GET /metrics); 0 = off. Must differ from ctld's gRPC ports.", {
      default: 0,
    }),
    MetricsListenAddr: key("string", "Address the Prometheus endpoint binds to.", { defaultText: "`CraneCtldListenAddr`" }),
    PrivateData: key(FLAG, "Hide another user's command line, script, environment, mounts and working directory.", { default: true }),
    MaxJobsPerUser: key(COUNT, "Jobs of one user that may run at once; more wait (QOSMaxJobsPerUserLimit). 0 = unlimited.", { default: 0 }),
    MaxSubmitJobsPerUser: key(COUNT, "Active jobs one user may have; more are refused at submission. 0 = unlimited.", { default: 100000 }),
    MaxJobsPerSubmit: key(COUNT, "Copies one submission may ask for (>= 1).", { default: 10000 }),
    MaxQueryItems: key(COUNT, "Entries of any one list of a query (job ids, users, names; >= 1).", { default: 10000 }),
    MaxSpecBytes: key(SIZE, "Size of one job's or step's specification (script, environment, arguments).", { default: "1M" }),
    AllowTaskOversubscription: key(FLAG, "Allow more tasks on a node than the largest node has CPUs.", { default: false }),
  }),
  Craned: section("Settings of the node daemons.", {
    PingInterval: key(SECONDS, "Seconds between a craned's pings to ctld.", { default: 5 }),
    StreamPort: key(PORT, "Port of craned's attach/exec stream proxy; 0 = any free port.", { default: 0 }),
    HousekeepingInterval: key(SECONDS, "Seconds between sweeps for pods, containers, cgroups and logs no active job owns; 0 = never.", {
      default: 60,
    }),
    LogRetentionDays: key("number (days)", "Days a finished job's step logs stay on its nodes.", { default: 7 }),
    LogMaxSize: key(SIZE, "Size at which a process step's log on its node is rotated (`<step>.log.1`, ...); 0 = no cap.", { default: 0 }),
    LogMaxFiles: key(COUNT, "Rotated log files kept per step once LogMaxSize is reached; older output is deleted.", { default: 1 }),
    NodeKeyFile: key("path", "Where craned finds its node key (`crane node-key NODE`); %n is the node name.", {
      defaultText: "`<CraneBaseDir>/node-keys/%n.key`",
    }),
    JobPidsMax: key(COUNT, "pids.max of each job cgroup: processes and threads a job may have on a node. 0 = unlimited.", { default: 4096 }),
  }),
  Nodes: list(
    "The compute nodes. One entry may describe several nodes with a host list.",
    {
      name: key("host list", "Node name, or a host list such as cn[01-04] for several alike.", { required: true }),
      cpu: key("number", "CPU cores to schedule (may be fractional).", { required: true }),
      memory: key(MEMORY, "Memory to schedule.", { required: true }),
      address: key("string", "Where ctld dials the node's craned; only for an entry naming one node.", { defaultText: "the node name" }),
      port: key(PORT, "The node's craned port.", { defaultText: "`CranedListenPort`" }),
      gres: list("Generic resources (GPUs) of each node of the entry.", {
        name: key("string", "Resource name, e.g. gpu.", { required: true }),
        type: key("string", "Resource type, e.g. a100 (requests then say gpu:a100:N).", { default: "" }),
        DeviceFileList: key("host list or list of them", "Device files, one per unit, e.g. /dev/nvidia[0-3].", { default: [] }),
        DeviceFileRegex: key("host list or list of them", "Another name for DeviceFileList."),
        deviceFiles: key("host list or list of them", "Another name for DeviceFileList."),
        count: key(COUNT, "Units without device files.", { defaultText: "the number of device files" }),
      }),
    },
    "this machine alone, with its CPUs and 90% of its memory",
  ),
  Partitions: list(
    "Named sets of nodes that jobs are submitted to.",
    {
      name: key("string", "Partition name.", { required: true }),
      nodes: key("host list or ALL", "Its nodes, all defined under Nodes.", { required: true }),
      priority: key("number", "Scheduling priority of the partition's jobs.", { default: 0 }),
      DefaultMemPerCpu: key(MEMORY, "Memory per CPU of a job that asks for none; 0 = derived from its nodes.", { default: 0 }),
      DefaultMemPerNode: key(MEMORY, "Memory per node of a job that asks for none; 0 = unset.", { default: 0 }),
      MaxMemPerNode: key(MEMORY, "Most memory a job may have per node; 0 = unlimited.", { default: 0 }),
      MaxTime: key("time limit (minutes, H:M:S, D-H[:M[:S]], UNLIMITED)", "Longest time limit of a job; 0 = unlimited.", { default: 0 }),
    },
    "one partition CPU with every node",
  ),
  Container: section("Container jobs, through containerd's CRI API on each node.", {
    Enabled: key(FLAG, "Whether nodes accept container jobs.", { default: true }),
    RuntimeEndpoint: key("path", "containerd's CRI socket (unix:// prefix allowed).", { default: "/run/containerd/containerd.sock" }),
    ImageEndpoint: key("path", "CRI image service socket.", { defaultText: "`RuntimeEndpoint`" }),
    UserNsEnabledByDefault: key(FLAG, 'Run pods in a user namespace ("fake root") unless the job says otherwise.', { default: false }),
    UserNsHostIdStart: key(COUNT, "First host id of the user-namespace range given to fake-root pods (>= 1).", { default: 200000 }),
    ImagePullTimeout: key(SECONDS, "Seconds an image pull may take before the step fails (>= 1).", { default: 300 }),
    AllowedMountPaths: key(STRINGS, "Host directories a user's container may mount, with everything below; {home} and {submit_dir} expand.", {
      default: ["{home}", "{submit_dir}", "/tmp"],
    }),
    Dns: section("DNS of the pods.", {
      Servers: key(STRINGS, "Name servers; none = the node's.", { default: [] }),
      Searches: key(STRINGS, "Search domains.", { default: [] }),
      ClusterDomain: key("string", "Domain of the pods' host names.", { default: "cluster.local" }),
    }),
  }),
};

/** Known keys at a path of mapping keys (list items use the list's name): `["Craned"]`, `["Nodes", "gres"]`. */
export function schemaAt(path: string[]): ConfigSchema | undefined {
  let schema: ConfigSchema = CONFIG_SCHEMA;
  for (const name of path) {
    const entry = schema[name];
    if (!entry || entry.kind === "key") return undefined;
    schema = entry.kind === "section" ? entry.keys : entry.item;
  }
  return schema;
}

/** A key the schema does not know, with the closest one it does (a typo's likely fix). */
export interface UnknownKey {
  /** Where it is, as an error names it: `Craned.LogRetentionDay`, `Nodes[0].gpu`. */
  path: string;
  message: string;
}

function closestKey(name: string, known: string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(lower, k.toLowerCase());
    if (distance <= Math.max(2, Math.floor(k.length / 3)) && (!best || distance < best.distance)) best = { key: k, distance };
  }
  return best?.key;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every key of a parsed document that the schema does not know, in document order. */
export function findUnknownKeys(raw: Record<string, unknown>, schema: ConfigSchema = CONFIG_SCHEMA, prefix = ""): UnknownKey[] {
  const found: UnknownKey[] = [];
  const known = Object.keys(schema);
  for (const [name, value] of Object.entries(raw)) {
    const path = `${prefix}${name}`;
    const entry = schema[name];
    if (!entry) {
      const guess = closestKey(name, known);
      const where = prefix ? `of ${prefix.replace(/\.$/, "").replace(/\[\d+\]/g, "[]")}` : "at the top level";
      found.push({ path, message: guess ? `unknown key: did you mean ${guess}?` : `unknown key (known keys ${where}: ${known.join(", ")})` });
    } else if (entry.kind === "section" && isMapping(value)) {
      found.push(...findUnknownKeys(value, entry.keys, `${path}.`));
    } else if (entry.kind === "list" && Array.isArray(value)) {
      value.forEach((item, i) => {
        if (isMapping(item)) found.push(...findUnknownKeys(item, entry.item, `${path}[${i}].`));
      });
    }
  }
  return found;
}
