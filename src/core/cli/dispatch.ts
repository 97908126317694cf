// Multi-call dispatch for the one `crane` executable.
//
//   crane ccon run busybox echo hi      -> id "ccon:run", argv ["busybox", "echo", "hi"]
//   ccon run busybox echo hi            -> same (invoked through a symlink named ccon)
//   crane cbatch job.sh / cbatch job.sh -> id "cbatch"
//   crane, crane --help, crane help     -> root help;  crane ccon, ccon, ccon --help -> topic help
//   crane ccon run --help               -> oclif command help ("$ crane ccon run ..."; "$ ccon run ..." as ccon)
//   --version anywhere in a command's own flags, -v too unless the command defines -v -> version
//
// Commands come from a map keyed by oclif ids (`ccon:run`); by default the registry in src/commands/index.ts, or in
// the built executable a manifest of their flags plus one loader per command, so that a run loads only its command.
import { stripVTControlCharacters } from "node:util";
import { Errors } from "@oclif/core";
import type { Invocation } from "./base.js";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { CraneHelp, processIo, type Io } from "./help.js";
import { buildLoadOptions, loadConfig, type CommandClass, type CommandMap, type ConfigView } from "./oclif-config.js";
import { BUNDLED_MANIFEST, ROOT_BIN, Registry, invokedName, resolve, suggest, viewPrefix, type CommandInfo, type Resolved, type TopicMap } from "./resolve.js";
import { versionText } from "./version.js";

export { MULTI_CALL_NAMES, ROOT_BIN, commandName, invokedName, suggest } from "./resolve.js";

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

/** The commands as known before loading any (their static flags), and how to load one. */
interface Commands {
  infos: Record<string, CommandInfo>;
  topics: TopicMap;
  load(id: string): CommandClass;
}

function fromMap(commands: CommandMap, topics: TopicMap | undefined): Commands {
  return { infos: commands as unknown as Record<string, CommandInfo>, topics: topics ?? {}, load: (id) => commands[id]! };
}

async function defaultCommands(topics: TopicMap | undefined): Promise<Commands> {
  // Lazy imports: command modules import core/cli, so a static import here would be a cycle.
  if (BUNDLED_MANIFEST) {
    const { loaders } = await import("../../commands/lazy.js");
    return {
      infos: BUNDLED_MANIFEST.commands,
      topics: topics ?? BUNDLED_MANIFEST.topics,
      load: (id) => loaders[id]!(),
    };
  }
  const mod = (await import("../../commands/index.js")) as { commands: CommandMap; topics?: TopicMap };
  return fromMap(mod.commands, topics ?? mod.topics);
}

interface Ctx {
  reg: Registry;
  load: Commands["load"];
  view: ConfigView;
  io: Io;
}

function displayPath(view: ConfigView, path: string[]): string {
  return [view.bin, ...path.slice(view.prefix.length)].join(" ");
}

async function showHelp(ctx: Ctx, path: string[]): Promise<void> {
  const ids = Object.keys(ctx.reg.commands);
  const commands: CommandMap = Object.fromEntries(ids.map((id) => [id, ctx.load(id)]));
  const config = await loadConfig({ view: ctx.view, commands, topics: ctx.reg.topics });
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

/**
 * Run one CLI invocation in-process and return its exit code (never calls process.exit).
 * `argv` is what follows the executable name (process.argv.slice(2)).
 */
export async function runCommand(argv: string[], opts: RunOptions = {}): Promise<number> {
  const io = opts.io ?? processIo;
  const commands = opts.commands ? fromMap(opts.commands, opts.topics) : await defaultCommands(opts.topics);
  const reg = new Registry(commands.infos, commands.topics);
  const prefix = viewPrefix(reg, opts.argv0 ?? ROOT_BIN);
  const name = prefix[0];
  const view: ConfigView = {
    bin: name ?? ROOT_BIN,
    prefix,
    description: name ? reg.topics[name]?.description : ROOT_DESCRIPTION,
  };
  const ctx: Ctx = { reg, load: commands.load, view, io };

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
  const path = id.split(":");
  const commandPath = displayPath(ctx.view, path);
  const invocation: Invocation = {
    id,
    bin: ctx.view.bin,
    commandPath,
    topicArgv,
    showHelp: () => showHelp(ctx, path),
  };
  try {
    const Cmd = ctx.load(id);
    if (Cmd.id !== id) Cmd.id = id;
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
