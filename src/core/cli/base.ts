// Base class for every crane command (daemons and user tools alike).
//
//   export default class Run extends CraneCommand {
//     static summary = "Run a container job";
//     static stopAtFirstPositional = true;          // IMAGE ends our flags; the rest goes to the container verbatim
//     static topicFlags = { partition: Flags.string({ char: "p" }) }; // `ccon -p CPU run ...`
//     static flags = { env: Flags.string({ char: "e", multiple: true }) };
//     static args = { image: Args.string({ required: true }) };
//     static enableJsonFlag = true;                  // --json prints what run() returns
//     async run(): Promise<RunResult> {
//       const { flags, args, argv } = await this.parse(Run);   // argv = [IMAGE, ...COMMAND] verbatim
//       const topic = await this.parseTopicFlags(Run.topicFlags);
//       const r = await this.ctld.call("submitBatchJob", ...); // connected on first use, closed at the end
//       this.log(`${r.jobId}.1`);                   // text output: printed only without --json
//       return { job_id: r.jobId, step_id: 1 };      // --json: printed as one line (snake_case, RFC 3339 times)
//     }
//   }
//
// The id (`ccon:run`) is the key in src/commands/index.ts; the dispatcher sets `static id` from it.
import { Command, Flags, Parser } from "@oclif/core";
import type { Interfaces } from "@oclif/core";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { buildFlagSpec, splitAtFirstPositional, type FlagDefLike } from "./argv.js";
import { connectCtld, type CtldConnection } from "./ctld.js";

/** What the dispatcher knows about this invocation; available as `this.invocation` from `init()` on. */
export interface Invocation {
  /** Canonical command id, e.g. `ccon:run`. */
  id: string;
  /** Binary name as invoked and shown in help: `crane` or `ccon`, ... */
  bin: string;
  /** How a user re-types this command: `crane ccon run` or `ccon run`. */
  commandPath: string;
  /** Tokens written between the topic and the subcommand (`ccon -p CPU run` -> `["-p", "CPU"]`), topic flags only. */
  topicArgv: string[];
  /** Print this command's help (same text as `--help`) to stdout. */
  showHelp(): Promise<void>;
}

// oclif's FlagOutput/ArgOutput are not re-exported; these are the same shapes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FlagOutput = { [name: string]: any };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ArgOutput = { [name: string]: any };
type AnyFlags = Interfaces.FlagInput<FlagOutput>;

/** Force cobra semantics on `multiple` flags: one value per occurrence (`-e A -e B`), never greedy. */
export function nonGreedy<T extends AnyFlags | undefined>(flags: T): T {
  if (!flags) return flags;
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(flags)) {
    out[k] = f.type === "option" && f.multiple && !f.multipleNonGreedy ? { ...f, multipleNonGreedy: true } : f;
  }
  return out as T;
}

/** Errors raised while oclif parses argv are usage errors (exit 1) unless the command threw a CliError itself. */
function asParseError(err: unknown): unknown {
  if (err instanceof CliError || err instanceof UsageError) return err;
  const e = err as { message?: unknown; name?: unknown };
  if (err instanceof Error && typeof e.message === "string") {
    const u = new UsageError(e.message);
    (u as { cause?: unknown }).cause = err;
    return u;
  }
  return err;
}

export abstract class CraneCommand extends Command {
  static override baseFlags = {
    config: Flags.string({
      char: "C",
      description: "Path to the configuration file (empty: auto-detect)",
      default: "",
      helpGroup: "GLOBAL",
    }),
    color: Flags.boolean({
      description: "Colour the output (default: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it)",
      allowNo: true,
      helpGroup: "GLOBAL",
    }),
  };

  /**
   * The first positional argument ends this command's flags; it and everything after it are passed verbatim
   * (`ccon run busybox ls -la`). `--help`/`-v` after it are not ours either. The parse result's `argv` is then
   * `[FIRST, ...REST]` exactly as typed; `args` only sees FIRST.
   */
  static stopAtFirstPositional = false;

  /**
   * Flags accepted between the topic word and this subcommand (`ccon -p CPU run`). They never mix with the
   * command's own flags (`run -p` is something else); read them with `parseTopicFlags()`. Using one of them with
   * a sibling subcommand fails with "flag 'x' is only valid for the 'run' command" (exit 2).
   */
  static topicFlags: AnyFlags | undefined = undefined;
  /** Help section title for `topicFlags`. */
  static topicFlagsHeader: string | undefined = undefined;
  /** A line printed after the topic flags in help. */
  static topicFlagsNote: string | undefined = undefined;

  protected invocation!: Invocation;

  /** `-C` and `--color` as parsed (read by `ctld` and `colorFlag`). */
  private globalFlags: { config?: string; color?: boolean } = {};
  private ctldConnection: CtldConnection | undefined;
  private failureAfterOutput: CliError | undefined;

  /** The client of ctld, per `-C`: connected on first use, closed when the command ends, however it ends. */
  protected get ctld(): CtldConnection {
    this.ctldConnection ??= connectCtld(this.globalFlags.config);
    return this.ctldConnection;
  }

  /** `--color` (true), `--no-color` (false), or neither (undefined): see colorEnabled(). */
  protected get colorFlag(): boolean | undefined {
    return this.globalFlags.color;
  }

  /**
   * End with `err` once the result has been printed: for a command whose output (text or --json) must be shown
   * although it fails, e.g. ccancel listing what it could not cancel, exit 4.
   */
  protected failAfterOutput(err: CliError): void {
    this.failureAfterOutput = err;
  }

  /**
   * Prints what was done (stdout) and what failed (stderr, a line each); with failures the command then exits 4
   * with `summary` (after --json output, silently).
   */
  protected printOutcome(outcome: { done: string[]; failures: string[] }, summary: string): void {
    for (const line of outcome.done) this.log(line);
    for (const line of outcome.failures) this.logToStderr(line);
    if (outcome.failures.length) this.failAfterOutput(new CliError(this.jsonEnabled() ? "" : summary, ExitCode.Backend));
  }

  protected override async init(): Promise<void> {
    await super.init();
    const ctx = (this.config.options as { crane?: Invocation }).crane;
    this.invocation = ctx ?? {
      id: this.id ?? "",
      bin: this.config.bin,
      commandPath: [this.config.bin, ...(this.id ?? "").split(":")].filter(Boolean).join(" "),
      topicArgv: [],
      showHelp: async () => {},
    };
  }

  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(
    options?: Interfaces.Input<F, B, A>,
    argv: string[] = this.argv,
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const src = (options ?? this.ctor) as Interfaces.Input<F, B, A> & { stopAtFirstPositional?: boolean };
    // Read every field explicitly: oclif spreads the class, which drops inherited statics such as `strict`.
    const input: Interfaces.Input<F, B, A> = {
      args: src.args,
      flags: nonGreedy(src.flags),
      baseFlags: nonGreedy(src.baseFlags),
      strict: src.strict,
      enableJsonFlag: src.enableJsonFlag,
      constraints: src.constraints,
      "--": src["--"],
      context: this,
    };
    const ctor = this.ctor as typeof CraneCommand;
    const stop = (options ? src.stopAtFirstPositional : undefined) ?? ctor.stopAtFirstPositional;
    if (!stop) {
      try {
        const out = await super.parse(input, argv);
        this.keepGlobalFlags(out.flags);
        return out;
      } catch (err) {
        throw asParseError(err);
      }
    }
    const spec = buildFlagSpec(
      input.flags as Record<string, FlagDefLike> | undefined,
      input.baseFlags as Record<string, FlagDefLike> | undefined,
      input.enableJsonFlag ? { json: { type: "boolean" } } : undefined,
    );
    const { head, first, tail } = splitAtFirstPositional(argv, spec);
    let out: Interfaces.ParserOutput<F, B, A>;
    try {
      // `--` keeps oclif from treating FIRST as a flag value or a flag; REST never reaches oclif (it would
      // reorder duplicates and eat flags).
      out = await super.parse(input, first === undefined ? head : [...head, "--", first]);
    } catch (err) {
      throw asParseError(err);
    }
    out.argv = first === undefined ? [] : [first, ...tail];
    this.keepGlobalFlags(out.flags);
    return out;
  }

  private keepGlobalFlags(flags: FlagOutput): void {
    this.globalFlags = { config: flags.config as string | undefined, color: flags.color as boolean | undefined };
  }

  /** Parse the topic flags given before the subcommand (see `static topicFlags`). */
  protected async parseTopicFlags<F extends FlagOutput>(
    flags: Interfaces.FlagInput<F> = (this.ctor as typeof CraneCommand).topicFlags as Interfaces.FlagInput<F>,
  ): Promise<F> {
    try {
      const res = await Parser.parse(this.invocation.topicArgv, {
        flags: nonGreedy(flags ?? ({} as Interfaces.FlagInput<F>)),
        args: {},
        strict: true,
        context: this,
      });
      return res.flags as F;
    } catch (err) {
      throw asParseError(err);
    }
  }

  /** Do not touch process.exitCode (commands run in-process under tests); the dispatcher reports errors. */
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    throw err;
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    const connection = this.ctldConnection;
    this.ctldConnection = undefined;
    connection?.close();
    return super.finally(err);
  }

  /** --json output is one compact line, never coloured: scripts read it with a line reader as well as jq. */
  protected override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json)}\n`);
  }

  protected override async _run<T>(): Promise<T> {
    const result = await super._run<T>();
    if (this.failureAfterOutput) throw this.failureAfterOutput;
    return result;
  }
}
