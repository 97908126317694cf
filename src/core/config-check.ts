// `crane config check`: the config loaded as the daemons load it, with every problem found rather than the first.
// The parser stops at the first bad value; the check then removes that key (so its default applies) and parses
// again, until the document parses or a problem cannot be removed (a required key is missing).
import { ConfigError, parseConfig, readConfigDocument, resolveConfigPath, type CraneConfig } from "./config";
import { compressHostlist } from "./parse/hostlist";
import { formatMemoryMiB } from "./parse/memory";
import { findUnknownKeys } from "./config-schema";

export interface ConfigProblem {
  /** Path of the key (`Craned.LogRetentionDay`, `Nodes[0].memory`); "" for the file as a whole. */
  key: string;
  message: string;
}

export interface ConfigCheck {
  /** The file checked; "" when none exists and the embedded default was checked. */
  file: string;
  problems: ConfigProblem[];
  /** The loaded config, when there are no problems. */
  config?: CraneConfig;
  /** A missing required key stopped the check: problems after it may not be listed. */
  stoppedEarly: boolean;
}

/** `Nodes[0].gres[1].name` -> ["Nodes", 0, "gres", 1, "name"]. */
function keyPath(key: string): (string | number)[] {
  return [...key.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/** Removes the value at `key` from the document; false when there is nothing there to remove. */
function removeKey(doc: unknown, key: string): boolean {
  const path = keyPath(key);
  const last = path.pop();
  let at: unknown = doc;
  for (const p of path) at = typeof at === "object" && at !== null ? (at as Record<string | number, unknown>)[p] : undefined;
  if (last === undefined || typeof at !== "object" || at === null) return false;
  if (Array.isArray(at) && typeof last === "number" && last < at.length) {
    at.splice(last, 1);
    return true;
  }
  const obj = at as Record<string | number, unknown>;
  if (obj[last] === undefined) return false;
  delete obj[last];
  return true;
}

export function checkConfig(explicit?: string): ConfigCheck {
  const file = resolveConfigPath(explicit);
  let doc: Record<string, unknown>;
  try {
    doc = file ? readConfigDocument(file) : {};
  } catch (e) {
    if (e instanceof ConfigError) return { file, problems: [{ key: "", message: e.message }], stoppedEarly: true };
    throw e;
  }
  const problems: ConfigProblem[] = findUnknownKeys(doc).map((u) => ({ key: u.path, message: u.message }));
  const removed = new Set<string>();
  const work = structuredClone(doc);
  for (;;) {
    try {
      const config = parseConfig(work, file);
      return problems.length ? { file, problems, stoppedEarly: false } : { file, problems, config, stoppedEarly: false };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // Without the bad value a required key is missing: already reported, and the check cannot go past it.
      if (removed.has(e.key)) return { file, problems, stoppedEarly: true };
      problems.push({ key: e.key, message: e.reason });
      if (!removeKey(work, e.key)) return { file, problems, stoppedEarly: true };
      removed.add(e.key);
    }
  }
}

/** What a valid config describes, in a few lines. */
export function summarizeConfig(c: CraneConfig): string[] {
  const cpus = c.nodes.reduce((sum, n) => sum + n.cpu, 0);
  const memory = c.nodes.reduce((sum, n) => sum + n.memoryBytes, 0);
  const gres = new Map<string, number>();
  for (const g of c.nodes.flatMap((n) => n.gres)) {
    const name = g.type ? `${g.name}:${g.type}` : g.name;
    gres.set(name, (gres.get(name) ?? 0) + g.count);
  }
  const gresText = [...gres].map(([k, n]) => `, ${n} ${k}`).join("");
  const partitions = c.partitions.map((p) => `${p.name}${p.name === c.defaultPartition ? " (default)" : ""} ${compressHostlist(p.nodes)}`);
  const container = c.container.enabled ? `enabled, runtime ${c.container.runtimeEndpoint}` : "disabled";
  return [
    `Cluster:    ${c.clusterName}, ctld at ${c.controlMachine}:${c.ctldPort} (nodes: ${c.ctldInternalPort}), auth ${c.authType}`,
    `Nodes:      ${c.nodes.length} (${compressHostlist(c.nodes.map((n) => n.name))}), ${cpus} CPUs, ${formatMemoryMiB(memory)} memory${gresText}`,
    `Partitions: ${partitions.join("; ")}`,
    `Containers: ${container}`,
    `Metrics:    ${c.metricsPort ? `http://${c.metricsListenAddr}:${c.metricsPort}/metrics` : "off (CraneCtld.MetricsPort)"}`,
  ];
}
