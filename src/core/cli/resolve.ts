// What an argv asks for (which command, help, version), worked out from the commands' static flag definitions
// only. Nothing here loads oclif or a command's code: the executable's entry answers `--version` with it before
// anything else is loaded (src/sea-main.ts), and the dispatcher loads just the command that runs.
import { basename } from "node:path";
import { buildFlagSpec, findMetaRequest, flagTokens, readToken, type FlagDefLike, type FlagSpec, type Token } from "./argv.js";
import { CliError, ExitCode } from "./errors.js";
import { editDistance } from "../parse/edit-distance.js";

/** Names that, used as the executable's name (symlink), select a top-level word. */
export const MULTI_CALL_NAMES = ["ccon", "cbatch", "crun", "cqueue", "ccancel", "cinfo", "cacct", "ccontrol", "calloc"] as const;
export const ROOT_BIN = "crane";

type FlagMap = Record<string, FlagDefLike>;

/** The statics of a command class that resolution reads (a command class is one; so is a manifest entry). */
export interface CommandInfo {
  hidden?: boolean | undefined;
  flags?: FlagMap | undefined;
  baseFlags?: FlagMap | undefined;
  topicFlags?: FlagMap | undefined;
  stopAtFirstPositional?: boolean | undefined;
  /** oclif adds `--json` to such a command (see CraneCommand). */
  enableJsonFlag?: boolean | undefined;
}

export interface TopicInfo {
  description?: string;
  hidden?: boolean;
}
export type TopicMap = Record<string, TopicInfo>;

/** Every command's CommandInfo, as plain data: made at build time and inlined into the executable. */
export interface Manifest {
  commands: Record<string, CommandInfo>;
  topics: TopicMap;
}

declare const __CRANE_MANIFEST__: Manifest | undefined;

/** The manifest of the commands built into this executable; undefined when running from source. */
export const BUNDLED_MANIFEST: Manifest | undefined = typeof __CRANE_MANIFEST__ === "object" ? __CRANE_MANIFEST__ : undefined;

function flagInfo(flags: FlagMap | undefined): FlagMap | undefined {
  if (!flags) return undefined;
  const out: FlagMap = {};
  for (const [name, f] of Object.entries(flags)) {
    const d: FlagDefLike = { type: f.type };
    if (f.char !== undefined) d.char = f.char;
    if (f.aliases?.length) d.aliases = [...f.aliases];
    if (f.charAliases?.length) d.charAliases = [...f.charAliases];
    if (f.allowNo) d.allowNo = true;
    out[name] = d;
  }
  return out;
}

/** The manifest of a command map (classes, or anything with the same statics). */
export function manifestOf(commands: Record<string, unknown>, topics: TopicMap = {}): Manifest {
  const out: Manifest = { commands: {}, topics: structuredClone(topics) };
  for (const [id, cmd] of Object.entries(commands)) {
    const c = cmd as CommandInfo;
    const info: CommandInfo = {};
    if (c.hidden) info.hidden = true;
    if (c.stopAtFirstPositional) info.stopAtFirstPositional = true;
    for (const key of ["flags", "baseFlags", "topicFlags"] as const) {
      const f = flagInfo(c[key]);
      if (f) info[key] = f;
    }
    // The flag oclif adds, listed with the command's own so that completion offers it.
    if (c.enableJsonFlag) info.flags = { json: { type: "boolean" }, ...info.flags };
    out.commands[id] = info;
  }
  return out;
}

/** Normalize an invoked name/path: `/usr/bin/ccon` -> `ccon`, `dist/crane.cjs` -> `crane`. */
export function commandName(argv0: string): string {
  return basename(argv0).replace(/\.(c|m)?(j|t)s$/, "");
}

/** The name this process was invoked as: launcher env, SEA argv0, or the script path. */
export function invokedName(opts: { keepEnv?: boolean } = {}): string {
  const fromLauncher = process.env.CRANE_ARGV0;
  if (fromLauncher) {
    if (!opts.keepEnv) delete process.env.CRANE_ARGV0; // do not leak into children
    return fromLauncher;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sea = require("node:sea") as { isSea(): boolean };
    if (sea.isSea()) return process.argv0;
  } catch {
    // not a SEA-capable node
  }
  return process.argv[1] ?? ROOT_BIN;
}

/** cobra's rule: edit distance <= 2, or the candidate starts with what was typed. */
export function suggest(word: string, candidates: Iterable<string>): string[] {
  const w = word.toLowerCase();
  return [...candidates].filter((c) => editDistance(w, c.toLowerCase()) <= 2 || c.toLowerCase().startsWith(w)).sort();
}

export class Registry {
  constructor(
    readonly commands: Record<string, CommandInfo>,
    readonly topics: TopicMap,
  ) {}

  isCommand(path: string[]): boolean {
    return Object.prototype.hasOwnProperty.call(this.commands, path.join(":"));
  }

  /** Ids at or under a path. */
  under(path: string[]): string[] {
    const p = path.join(":");
    return Object.keys(this.commands).filter((id) => !p || id === p || id.startsWith(`${p}:`));
  }

  /** Next words after `path` (hidden commands included: they are reachable, just not listed). */
  children(path: string[]): Set<string> {
    const out = new Set<string>();
    for (const id of this.under(path)) {
      const words = id.split(":");
      if (words.length > path.length) out.add(words[path.length]!);
    }
    return out;
  }

  visibleChildren(path: string[]): string[] {
    return [...this.children(path)].filter((w) => {
      const ids = this.under([...path, w]);
      return ids.some((id) => !this.commands[id]!.hidden);
    });
  }

  /** Commands directly below a topic (`ccon:run` for `ccon`). */
  direct(path: string[]): string[] {
    return this.under(path).filter((id) => id.split(":").length === path.length + 1);
  }

  /** Flags that may appear at a topic level: topic flags of its direct subcommands, base flags of all below. */
  topicSpec(path: string[]): FlagSpec {
    const maps: (FlagMap | undefined)[] = [];
    for (const id of this.direct(path)) maps.push(this.commands[id]!.topicFlags);
    for (const id of this.under(path)) maps.push(this.commands[id]!.baseFlags);
    return buildFlagSpec(...maps);
  }

  commandSpec(id: string): FlagSpec {
    const c = this.commands[id]!;
    return buildFlagSpec(c.flags, c.baseFlags);
  }
}

/** The executable's view of the commands: `crane ...`, or a multi-call name such as `ccon` with its words implied. */
export function viewPrefix(reg: Registry, argv0: string): string[] {
  const name = commandName(argv0);
  const known = (MULTI_CALL_NAMES as readonly string[]).includes(name) || (name !== ROOT_BIN && reg.children([]).has(name));
  return known ? [name] : [];
}

export type Resolved =
  | { kind: "help"; path: string[] }
  | { kind: "version" }
  | { kind: "unknown"; path: string[]; word: string }
  | { kind: "command"; id: string; argv: string[]; topicArgv: string[] };

/** Work out what argv asks for. `path` starts with the words implied by the executable's name. */
export function resolve(reg: Registry, start: string[], argv: string[]): Resolved {
  const path = [...start];
  let rest = argv;
  const pre: { tok: Token; level: number }[] = []; // flag tokens seen between topic words, with path depth
  let wantHelp = false;
  let wantVersion = false;
  let helpWord = false; // `crane help ccon run`

  for (;;) {
    const isCmd = path.length > 0 && reg.isCommand(path);
    const children = reg.children(path);
    if (isCmd && children.size === 0) break;

    // Scan flags up to the next positional word at this topic level.
    const spec = reg.topicSpec(path);
    let i = 0;
    let stopped = false;
    while (i < rest.length) {
      const { tok, next } = readToken(rest, i, spec);
      if (tok.kind === "dashdash") {
        stopped = true;
        break;
      }
      if (tok.kind === "positional") break;
      const meta = findMetaRequest([tok], spec);
      if (meta === "help") wantHelp = true;
      else if (meta === "version") wantVersion = true;
      else pre.push({ tok, level: path.length });
      i = next;
    }
    const word = stopped ? undefined : rest[i];
    if (word !== undefined && children.has(word)) {
      path.push(word);
      rest = rest.slice(i + 1);
      continue;
    }
    if (word === "help" && !isCmd && !helpWord) {
      helpWord = true;
      rest = rest.slice(i + 1);
      continue;
    }
    if (isCmd) {
      rest = rest.slice(i); // the flags before i are in `pre`
      break;
    }
    if (word === undefined) {
      if (wantVersion && !wantHelp && !helpWord) return { kind: "version" };
      return { kind: "help", path };
    }
    return { kind: "unknown", path, word };
  }

  const id = path.join(":");
  if (helpWord) return { kind: "help", path };
  const cmd = reg.commands[id]!;
  // Sort the tokens written before the subcommand. Right before it (`ccon -p CPU run`): its topic flags, or a
  // sibling's topic flags (error). Anything else is a flag of the command itself, moved in front of its argv
  // (`ccon --json ps`, `crane -C x cbatch`); the command's parser rejects unknown ones.
  const own = buildFlagSpec(cmd.topicFlags);
  const topicArgv: string[] = [];
  const moved: string[] = [];
  for (const { tok: t, level } of pre) {
    if (t.kind !== "flag") continue;
    if (level !== path.length - 1) {
      moved.push(...t.raw);
      continue;
    }
    const name = flagNameOf(t.text);
    const mine = name.long ? own.long.get(name.key) : own.short.get(name.key);
    if (mine) {
      topicArgv.push(...t.raw);
      continue;
    }
    const owner = siblingOwner(reg, path, name);
    if (owner) {
      throw new CliError(`flag '${owner.flag}' is only valid for the '${owner.sub}' command`, ExitCode.CmdArg);
    }
    moved.push(...t.raw);
  }
  const cmdArgv = [...moved, ...rest];
  const spec = reg.commandSpec(id);
  const meta = findMetaRequest(flagTokens(cmdArgv, spec, cmd.stopAtFirstPositional === true), spec);
  if (wantHelp || meta === "help") return { kind: "help", path };
  if (wantVersion || meta === "version") return { kind: "version" };
  return { kind: "command", id, argv: cmdArgv, topicArgv };
}

function flagNameOf(text: string): { long: boolean; key: string } {
  if (text.startsWith("--")) {
    const eq = text.indexOf("=");
    return { long: true, key: eq === -1 ? text.slice(2) : text.slice(2, eq) };
  }
  return { long: false, key: text.slice(1, 2) };
}

function siblingOwner(reg: Registry, path: string[], name: { long: boolean; key: string }): { flag: string; sub: string } | undefined {
  const topic = path.slice(0, -1);
  for (const id of reg.direct(topic)) {
    if (id === path.join(":")) continue;
    const c = reg.commands[id]!;
    if (!c.topicFlags) continue;
    const spec = buildFlagSpec(c.topicFlags);
    const hit = name.long ? spec.long.get(name.key) : spec.short.get(name.key);
    if (hit) return { flag: hit.name, sub: id.split(":").slice(topic.length).join(" ") };
  }
  return undefined;
}
