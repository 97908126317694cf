// Build an oclif Config without any file-based discovery (a Node SEA can `require()` only builtins).
//
// The root Plugin gets an inline package.json and its private `commandCache` pre-filled with our command classes,
// so the `explicit` discovery strategy never loads a file. This relies on @oclif/core internals: the version is
// pinned exactly in package.json and test/unit/cli/dispatch.test.ts fails loudly if the trick stops working.
import { Command, Config, Plugin } from "@oclif/core";
import type { Interfaces } from "@oclif/core";
import type { TopicInfo, TopicMap } from "./resolve.js";
import { VERSION } from "./version.js";

export type { TopicInfo, TopicMap } from "./resolve.js";

export type CommandClass = typeof Command;
export type CommandMap = Record<string, CommandClass>;

/** oclif's id for the only command of a single-command CLI (`Symbol('SINGLE_COMMAND_CLI').toString()`). */
export const SINGLE_COMMAND_ID = "Symbol(SINGLE_COMMAND_CLI)";

/** A virtual package root; nothing is ever read from it. */
const VIRTUAL_ROOT = "/nonexistent/crane";

export interface ConfigView {
  /** Binary name shown in help and usage (`crane`, or `ccon` when invoked through that name). */
  bin: string;
  /** Canonical id words hidden by the view (`["ccon"]` when invoked as `ccon`). */
  prefix: string[];
  /** One-line (+ more lines) description for root help. */
  description?: string | undefined;
}

/** Re-key canonical ids for a view: with prefix `ccon`, `ccon:run` becomes `run`; `cbatch` as `cbatch` becomes single. */
export function viewCommands(commands: CommandMap, prefix: string[]): { map: CommandMap; single: boolean } {
  if (prefix.length === 0) return { map: commands, single: false };
  const p = prefix.join(":");
  const own = commands[p];
  const map: CommandMap = {};
  for (const [id, cmd] of Object.entries(commands)) {
    if (id.startsWith(`${p}:`)) map[id.slice(p.length + 1)] = rekeyed(cmd, id);
  }
  if (own && Object.keys(map).length === 0) return { map: { [SINGLE_COMMAND_ID]: rekeyed(own, p) }, single: true };
  return { map, single: false };
}

/** oclif writes `Cmd.id`/`Cmd.plugin` on the class it finds; give it a throwaway subclass so ours stay canonical. */
function rekeyed(cmd: CommandClass, canonicalId: string): CommandClass {
  const Base = cmd as unknown as new (...a: never[]) => object;
  const Sub = class extends Base {};
  Object.defineProperty(Sub, "name", { value: cmd.name });
  Object.defineProperty(Sub, "canonicalId", { value: canonicalId, enumerable: false });
  return Sub as unknown as CommandClass;
}

export function topicsFor(topics: TopicMap | undefined, prefix: string[]): Record<string, TopicInfo> {
  const out: Record<string, TopicInfo> = {};
  const p = prefix.join(":");
  for (const [name, t] of Object.entries(topics ?? {})) {
    const id = name.replaceAll(" ", ":");
    if (!p) out[id] = { ...t };
    else if (id.startsWith(`${p}:`)) out[id.slice(p.length + 1)] = { ...t };
  }
  return out;
}

/** oclif LoadOptions plus our per-invocation context (read back by CraneCommand through `config.options`). */
export type CraneLoadOptions = Interfaces.LoadOptions & { crane?: unknown };

export async function buildLoadOptions(opts: {
  view: ConfigView;
  commands: CommandMap;
  topics?: TopicMap | undefined;
  context?: unknown;
}): Promise<Interfaces.Options & { crane?: unknown }> {
  const { view } = opts;
  const { map, single } = viewCommands(opts.commands, view.prefix);
  // oclif's topic table wants nested objects keyed by the first word only for top-level names; colon ids work too.
  const topics = topicsFor(opts.topics, view.prefix);
  const pjson: Interfaces.PJSON = {
    name: "crane",
    version: VERSION,
    description: view.description ?? "",
    oclif: {
      bin: view.bin,
      dirname: "crane",
      topicSeparator: " ",
      topics,
      commands: single ? { strategy: "single", target: "inline" } : { strategy: "explicit", target: "inline", identifier: "commands" },
    },
  };
  const plugin = new Plugin({ root: VIRTUAL_ROOT, isRoot: true, pjson, ignoreManifest: true, respectNoCacheDefault: true });
  // Pre-fill the private cache that `loadCommandsFromTarget()` would otherwise fill by require()-ing `target`.
  (plugin as unknown as { commandCache: CommandMap }).commandCache = map;
  await plugin.load();
  return {
    root: VIRTUAL_ROOT,
    pjson,
    plugins: new Map([[plugin.name, plugin]]),
    userPlugins: false,
    devPlugins: false,
    jitPlugins: false,
    crane: opts.context,
  };
}

export async function loadConfig(opts: Parameters<typeof buildLoadOptions>[0]): Promise<Config> {
  return Config.load(await buildLoadOptions(opts));
}
