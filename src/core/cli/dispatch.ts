// Multi-call dispatch for the one `crane` executable.
//
//   crane ccon run busybox echo hi      -> id "ccon:run", argv ["busybox", "echo", "hi"]
//   ccon run busybox echo hi            -> same (invoked through a symlink named ccon)
//   crane cbatch job.sh / cbatch job.sh -> id "cbatch"
//   crane, crane --help, crane help     -> root help;  crane ccon, ccon, ccon --help -> topic help
//   crane ccon run --help               -> oclif command help ("$ crane ccon run ..."; "$ ccon run ..." as ccon)
//   --version anywhere in a command's own flags, -v too unless the command defines -v -> version
//
// Commands come from a map keyed by oclif ids (`ccon:run`); by default the registry in src/commands/index.ts.
import { basename } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { Errors } from "@oclif/core";
import { buildFlagSpec, findMetaRequest, flagTokens, readToken, type FlagDefLike, type FlagSpec, type Token } from "./argv.js";
import type { CraneCommand, Invocation } from "./base.js";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { CraneHelp, processIo, type Io } from "./help.js";
import { buildLoadOptions, loadConfig, type CommandClass, type CommandMap, type ConfigView, type TopicMap } from "./oclif-config.js";
import { versionText } from "./version.js";

/** Names that, used as the executable's name (symlink), select a top-level word. */
export const MULTI_CALL_NAMES = ["ccon", "cbatch", "crun", "cqueue", "ccancel", "cinfo"] as const;
export const ROOT_BIN = "crane";
const ROOT_DESCRIPTION = "A job scheduler for HPC and AI clusters with first-class container jobs";

export interface RunOptions {
  /** Command classes keyed by oclif id. Default: `commands` from src/commands/index.ts. */
  commands?: CommandMap;
  /** Topic descriptions keyed by topic id (`ccon`). Default: `topics` from src/commands/index.ts, if exported. */
  topics?: TopicMap;
  /** Name (or path) the executable was invoked as. Default `crane`. */
  argv0?: string;
  /** Where help, version and error text go. Default: process.stdout / process.stderr. */
  io?: Io;
}

type CommandStatics = CommandClass & Partial<Pick<typeof CraneCommand, "stopAtFirstPositional" | "topicFlags">>;

/** Normalize an invoked name/path: `/usr/bin/ccon` -> `ccon`, `dist/crane.cjs` -> `crane`. */
export function commandName(argv0: string): string {
  return basename(argv0).replace(/\.(c|m)?(j|t)s$/, "");
}

/** The name this process was invoked as: launcher env, SEA argv0, or the script path. */
export function invokedName(): string {
  const fromLauncher = process.env.CRANE_ARGV0;
  if (fromLauncher) {
    delete process.env.CRANE_ARGV0; // do not leak into children
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

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** cobra's rule: edit distance <= 2, or the candidate starts with what was typed. */
export function suggest(word: string, candidates: Iterable<string>): string[] {
  const w = word.toLowerCase();
  return [...candidates].filter((c) => levenshtein(w, c.toLowerCase()) <= 2 || c.toLowerCase().startsWith(w)).sort();
}

class Registry {
  constructor(
    readonly commands: CommandMap,
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
      return ids.some((id) => !(this.commands[id] as { hidden?: boolean }).hidden);
    });
  }

  /** Commands directly below a topic (`ccon:run` for `ccon`). */
  direct(path: string[]): string[] {
    return this.under(path).filter((id) => id.split(":").length === path.length + 1);
  }

  /** Flags that may appear at a topic level: topic flags of its direct subcommands, base flags of all below. */
  topicSpec(path: string[]): FlagSpec {
    const maps: (Record<string, FlagDefLike> | undefined)[] = [];
    for (const id of this.direct(path)) {
      const c = this.commands[id] as CommandStatics;
      maps.push(c.topicFlags as Record<string, FlagDefLike> | undefined);
    }
    for (const id of this.under(path)) maps.push(this.commands[id]!.baseFlags as Record<string, FlagDefLike> | undefined);
    return buildFlagSpec(...maps);
  }

  commandSpec(id: string): FlagSpec {
    const c = this.commands[id]!;
    return buildFlagSpec(c.flags as Record<string, FlagDefLike> | undefined, c.baseFlags as Record<string, FlagDefLike> | undefined);
  }
}

type Resolved =
  | { kind: "help"; path: string[] }
  | { kind: "version" }
  | { kind: "unknown"; path: string[]; word: string }
  | { kind: "command"; id: string; argv: string[]; topicArgv: string[] };

/** Work out what argv asks for. `path` starts with the words implied by the executable's name. */
function resolve(reg: Registry, start: string[], argv: string[]): Resolved {
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
  const cmd = reg.commands[id] as CommandStatics;
  // Sort the tokens written before the subcommand. Right before it (`ccon -p CPU run`): its topic flags, or a
  // sibling's topic flags (error). Anything else is a flag of the command itself, moved in front of its argv
  // (`ccon --json ps`, `crane -C x cbatch`); the command's parser rejects unknown ones.
  const own = buildFlagSpec(cmd.topicFlags as Record<string, FlagDefLike> | undefined);
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
    const c = reg.commands[id] as CommandStatics;
    if (!c.topicFlags) continue;
    const spec = buildFlagSpec(c.topicFlags as Record<string, FlagDefLike>);
    const hit = name.long ? spec.long.get(name.key) : spec.short.get(name.key);
    if (hit) return { flag: hit.name, sub: id.split(":").slice(topic.length).join(" ") };
  }
  return undefined;
}

interface Ctx {
  reg: Registry;
  view: ConfigView;
  io: Io;
}

function displayPath(view: ConfigView, path: string[]): string {
  return [view.bin, ...path.slice(view.prefix.length)].join(" ");
}

async function showHelp(ctx: Ctx, path: string[]): Promise<void> {
  const config = await loadConfig({ view: ctx.view, commands: ctx.reg.commands, topics: ctx.reg.topics });
  const help = new CraneHelp(config, { io: ctx.io });
  await help.showHelp(path.slice(ctx.view.prefix.length));
}

function cleanMessage(msg: string): string {
  let m = msg.replace(/\nSee more help with --help\s*$/, "");
  // CraneCommand makes `multiple` flags non-greedy, so oclif's advice about them does not apply.
  m = m.replace(/\n\nNote: [^\n]* allows? multiple values\.[^\n]*\nAlternatively, [^\n]*/, "");
  // oclif wraps errors thrown by a flag's parse(): "Parsing --mem \n\t<reason>"
  m = m.replace(/^Parsing (--\S+) \n\t/, "invalid value for $1: ");
  return process.stderr.isTTY ? m : stripVTControlCharacters(m);
}

/** Print an error per the CLI conventions and return the exit code. */
function report(err: unknown, io: Io, commandPath: string): number {
  const hint = `See '${commandPath} --help'.\n`;
  if (err instanceof Errors.ExitError) return err.oclif.exit ?? 0;
  if (err instanceof CliError) {
    const msg = cleanMessage(err.message);
    // An empty message only carries an exit code (e.g. a container's own 2): nothing to print.
    if (msg && err.exitCode === ExitCode.CmdArg) io.err(`Error: ${msg}\n`);
    else if (msg) io.err(`${msg}\n`);
    return err.exitCode;
  }
  if (err instanceof UsageError) {
    io.err(`Error: ${cleanMessage(err.message)}\n${hint}`);
    return ExitCode.Generic;
  }
  if (err instanceof Errors.CLIError) {
    io.err(`Error: ${cleanMessage(err.message)}\n`);
    return err.oclif.exit ?? ExitCode.Generic;
  }
  const e = err as { message?: unknown; stack?: unknown };
  const msg = err instanceof Error ? err.message : typeof e?.message === "string" ? e.message : String(err);
  io.err(`Error: ${msg}\n`);
  if (process.env.CRANE_DEBUG && typeof e?.stack === "string") io.err(`${e.stack}\n`);
  return ExitCode.Generic;
}

async function loadRegistry(): Promise<{ commands: CommandMap; topics?: TopicMap }> {
  // Lazy: command modules import core/cli, so a static import here would be a cycle.
  const mod = (await import("../../commands/index.js")) as { commands: CommandMap; topics?: TopicMap };
  return mod;
}

/**
 * Run one CLI invocation in-process and return its exit code (never calls process.exit).
 * `argv` is what follows the executable name (process.argv.slice(2)).
 */
export async function runCommand(argv: string[], opts: RunOptions = {}): Promise<number> {
  const io = opts.io ?? processIo;
  let commands = opts.commands;
  let topics = opts.topics;
  if (!commands) {
    const r = await loadRegistry();
    commands = r.commands;
    topics ??= r.topics;
  }
  const reg = new Registry(commands, topics ?? {});
  const name = commandName(opts.argv0 ?? ROOT_BIN);
  const known = (MULTI_CALL_NAMES as readonly string[]).includes(name) || (name !== ROOT_BIN && reg.children([]).has(name));
  const prefix = known ? [name] : [];
  const view: ConfigView = {
    bin: known ? name : ROOT_BIN,
    prefix,
    description: known ? reg.topics[name]?.description : ROOT_DESCRIPTION,
  };
  const ctx: Ctx = { reg, view, io };

  let resolved: Resolved;
  try {
    resolved = resolve(reg, prefix, argv);
  } catch (err) {
    return report(err, io, displayPath(view, prefix));
  }

  switch (resolved.kind) {
    case "version":
      io.out(versionText());
      return ExitCode.Success;
    case "help":
      try {
        await showHelp(ctx, resolved.path);
        return ExitCode.Success;
      } catch (err) {
        return report(err, io, displayPath(view, resolved.path));
      }
    case "unknown": {
      const where = displayPath(view, resolved.path);
      const near = suggest(resolved.word, reg.visibleChildren(resolved.path));
      let msg = `Error: unknown command "${resolved.word}" for "${where}"\n`;
      if (near.length > 0) msg += `\nDid you mean this?\n${near.map((n) => `\t${n}\n`).join("")}`;
      msg += `\nRun '${where} --help' for usage.\n`;
      io.err(msg);
      return ExitCode.Generic;
    }
    case "command":
      return execute(ctx, resolved.id, resolved.argv, resolved.topicArgv);
  }
}

async function execute(ctx: Ctx, id: string, argv: string[], topicArgv: string[]): Promise<number> {
  const Cmd = ctx.reg.commands[id]!;
  const path = id.split(":");
  const commandPath = displayPath(ctx.view, path);
  if (Cmd.id !== id) Cmd.id = id;
  const invocation: Invocation = {
    id,
    bin: ctx.view.bin,
    commandPath,
    topicArgv,
    showHelp: () => showHelp(ctx, path),
  };
  try {
    // The run-time config carries no commands: nothing to cache, no flag defaults evaluated twice.
    const loadOpts = await buildLoadOptions({ view: ctx.view, commands: {}, context: invocation });
    const runnable = Cmd as unknown as { run(argv: string[], opts: typeof loadOpts): Promise<unknown> };
    await runnable.run(argv, loadOpts);
    return ExitCode.Success;
  } catch (err) {
    return report(err, ctx.io, commandPath);
  }
}

/** Wait until what was written so far is handed to the OS (pipes to a slow reader), at most 2 s. */
function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise<void>((done) => {
    setTimeout(done, 2000).unref();
    try {
      stream.write("", () => done());
    } catch {
      done();
    }
  });
}

/**
 * Entry point of the executable: dispatch, flush, exit. process.exit() ends everything still pending, so a
 * command's run() must resolve only when its work is done (daemons: when they have shut down).
 */
export async function main(): Promise<never> {
  const code = await runCommand(process.argv.slice(2), { argv0: invokedName() });
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  process.exit(code);
}
