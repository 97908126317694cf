import { Args, Flags } from "@oclif/core";
import { beforeEach, describe, expect, it } from "vitest";
import { buildFlagSpec, splitAtFirstPositional } from "../../../src/core/cli/argv.js";
import { CraneCommand } from "../../../src/core/cli/base.js";
import { commandName, runCommand, suggest } from "../../../src/core/cli/dispatch.js";
import { CliError, ExitCode } from "../../../src/core/cli/errors.js";
import type { Io } from "../../../src/core/cli/help.js";
import type { CommandMap } from "../../../src/core/cli/oclif-config.js";
import { formatRfc1123Z, VERSION } from "../../../src/core/cli/version.js";
import FixturePs from "../../fixtures/cli/ps.js";
import FixtureRun from "../../fixtures/cli/run.js";

class FixtureBatch extends CraneCommand {
  static override summary = "Submit a fixture batch script";
  static override flags = { hold: Flags.boolean({ char: "H", description: "hold" }) };
  static override args = { script: Args.string({ description: "script file" }) };
  static last: { script?: string | undefined; hold: boolean } | undefined;
  async run(): Promise<void> {
    const { flags, args } = await this.parse(FixtureBatch);
    FixtureBatch.last = { script: args.script, hold: flags.hold === true }; // oclif booleans: undefined unless given
    if (args.script === "missing.sh") throw new CliError("cannot open missing.sh", ExitCode.System);
    if (args.script === "quiet.sh") throw new CliError("", ExitCode.Network);
  }
}

/** A family base class adding persistent flags, as a `ccon` base would (`--debug-level`, `--json`). */
abstract class FixtureConBase extends CraneCommand {
  static override baseFlags = {
    ...CraneCommand.baseFlags,
    "debug-level": Flags.string({ description: "log level", default: "info", helpGroup: "GLOBAL" }),
  };
}

class FixtureLogs extends FixtureConBase {
  static override summary = "Show fixture logs";
  static override hidden = true;
  static override args = { container: Args.string({ description: "container" }) };
  static last: { level: string; container?: string | undefined } | undefined;
  async run(): Promise<void> {
    const { flags, args } = await this.parse(FixtureLogs);
    FixtureLogs.last = { level: flags["debug-level"], container: args.container };
    if (!args.container) await this.invocation.showHelp();
  }
}

const commands: CommandMap = { "ccon:run": FixtureRun, "ccon:ps": FixturePs, "ccon:logs": FixtureLogs, cbatch: FixtureBatch };
const topics = { ccon: { description: "Container jobs\nRun and manage containers as jobs." } };

async function run(argv: string[], argv0 = "crane") {
  let out = "";
  let err = "";
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await runCommand(argv, { commands, topics, argv0, io });
  return { code, out, err };
}

beforeEach(() => {
  FixtureRun.last = undefined;
  FixturePs.last = undefined;
  FixtureBatch.last = undefined;
});

describe("command selection", () => {
  it("selects ccon:run from `crane ccon run` and passes the rest verbatim", async () => {
    const r = await run(["ccon", "run", "busybox", "echo", "hi"]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(FixtureRun.last?.id).toBe("ccon:run");
    expect(FixtureRun.last?.argv).toEqual(["busybox", "echo", "hi"]);
    expect(FixtureRun.last?.args.image).toBe("busybox");
    expect(FixtureRun.last?.commandPath).toBe("crane ccon run");
  });

  it("prepends the invoked name for multi-call symlinks", async () => {
    const r = await run(["run", "busybox", "true"], "/usr/local/bin/ccon");
    expect(r.code).toBe(0);
    expect(FixtureRun.last?.argv).toEqual(["busybox", "true"]);
    expect(FixtureRun.last?.commandPath).toBe("ccon run");
  });

  it("strips script extensions from argv0 (node dist/crane.cjs)", () => {
    expect(commandName("/x/dist/crane.cjs")).toBe("crane");
    expect(commandName("ccon")).toBe("ccon");
    expect(commandName("/work/bin/crane.js")).toBe("crane");
  });

  it("runs a top-level command both as `crane cbatch` and as `cbatch`", async () => {
    expect((await run(["cbatch", "-H", "job.sh"])).code).toBe(0);
    expect(FixtureBatch.last).toEqual({ script: "job.sh", hold: true });
    expect((await run(["job2.sh"], "cbatch")).code).toBe(0);
    expect(FixtureBatch.last).toEqual({ script: "job2.sh", hold: false });
  });

  it("passes -C/--config (base flag) before or after the subcommand", async () => {
    let r = await run(["ccon", "ps", "-C", "/etc/x.yaml", "-a"]);
    expect(r.code).toBe(0);
    expect(FixturePs.last?.flags).toMatchObject({ config: "/etc/x.yaml", all: true });
    r = await run(["ccon", "--config=/y.yaml", "ps"]);
    expect(r.code).toBe(0);
    expect(FixturePs.last?.flags.config).toBe("/y.yaml");
    r = await run(["-C", "/z.yaml", "ps"], "ccon");
    expect(FixturePs.last?.flags.config).toBe("/z.yaml");
    r = await run(["ccon", "ps"]);
    expect(FixturePs.last?.flags.config).toBe("");
    r = await run(["-C", "/r.yaml", "cbatch", "j.sh"]);
    expect(r.code).toBe(0);
    expect(FixtureBatch.last?.script).toBe("j.sh");
    r = await run(["-C", "/r.yaml", "ccon", "-p", "CPU", "run", "img"]);
    expect(r.code).toBe(0);
    expect(FixtureRun.last?.flags.config).toBe("/r.yaml");
    expect(FixtureRun.last?.topic.partition).toBe("CPU");
  });

  it("accepts a family's base flags (with values) before the subcommand", async () => {
    const r = await run(["--debug-level", "trace", "logs", "c1"], "ccon");
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(FixtureLogs.last).toEqual({ level: "trace", container: "c1" });
    expect((await run(["ccon", "logs", "c2"])).code).toBe(0);
    expect(FixtureLogs.last).toEqual({ level: "info", container: "c2" });
  });

  it("lets a command print its own help (this.invocation.showHelp)", async () => {
    const r = await run(["ccon", "logs"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("$ crane ccon logs [CONTAINER]");
    expect(r.out).toContain("--debug-level=<value>");
  });

  it("keeps interspersed flags for normal commands and multiple flags non-greedy", async () => {
    const r = await run(["ccon", "ps", "web", "-j", "1", "-j", "2", "--all"]);
    expect(r.code).toBe(0);
    expect(FixturePs.last?.args.filter).toBe("web");
    expect(FixturePs.last?.flags.job).toEqual(["1", "2"]);
  });
});

describe("stopAtFirstPositional", () => {
  it("gives flags after IMAGE to the container, not to oclif", async () => {
    const r = await run(["ccon", "run", "-e", "A=1", "-d", "busybox", "ls", "-la", "--help", "-v", "--exit", "3"]);
    expect(r).toMatchObject({ code: 0, out: "", err: "" });
    expect(FixtureRun.last?.flags.env).toEqual(["A=1"]);
    expect(FixtureRun.last?.flags.detach).toBe(true);
    expect(FixtureRun.last?.argv).toEqual(["busybox", "ls", "-la", "--help", "-v", "--exit", "3"]);
  });

  it("does not let a multiple flag swallow IMAGE, keeps duplicates and order", async () => {
    await run(["ccon", "run", "-e", "X", "-v", "/a:/b", "-it", "img", "echo", "X", "X", "--", "y"]);
    expect(FixtureRun.last?.flags.env).toEqual(["X"]);
    expect(FixtureRun.last?.flags.volume).toEqual(["/a:/b"]);
    expect(FixtureRun.last?.flags.interactive).toBe(true);
    expect(FixtureRun.last?.flags.tty).toBe(true);
    expect(FixtureRun.last?.argv).toEqual(["img", "echo", "X", "X", "--", "y"]);
  });

  it("consumes a `--` before IMAGE only", async () => {
    await run(["ccon", "run", "-d", "--", "-weird-image", "--", "a"]);
    expect(FixtureRun.last?.argv).toEqual(["-weird-image", "--", "a"]);
  });

  it("treats -v as the command's volume flag, --version as version", async () => {
    let r = await run(["ccon", "run", "-v", "/h:/c", "img"]);
    expect(r.code).toBe(0);
    expect(FixtureRun.last?.flags.volume).toEqual(["/h:/c"]);
    FixtureRun.last = undefined;
    r = await run(["ccon", "run", "--version"]);
    expect(r.out).toBe(`crane ${VERSION}\nSource Time: Unknown\n`);
    expect(FixtureRun.last).toBeUndefined();
  });

  it("reads topic flags placed between the topic and the subcommand", async () => {
    const r = await run(["ccon", "-p", "CPU", "--exclusive", "run", "-p", "8080", "img"]);
    expect(r.code).toBe(0);
    expect(FixtureRun.last?.topic).toMatchObject({ partition: "CPU", exclusive: true, nodes: 1 });
    expect(FixtureRun.last?.flags.ports).toEqual(["8080"]);
  });

  it("rejects a topic flag used with another subcommand (exit 2)", async () => {
    const r = await run(["ccon", "-p", "CPU", "ps"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("Error: flag 'partition' is only valid for the 'run' command\n");
  });
});

describe("help", () => {
  it("lists topics and commands at the root", async () => {
    for (const argv of [[], ["--help"], ["-h"], ["help"]]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toContain("$ crane [COMMAND]");
      expect(r.out).toMatch(/TOPICS\n\s+ccon\s+Container jobs/);
      expect(r.out).toMatch(/COMMANDS\n\s+cbatch\s+Submit a fixture batch script/);
    }
  });

  it("shows topic help for `crane ccon`, `crane ccon --help` and bare `ccon`", async () => {
    for (const [argv, argv0, bin] of [
      [["ccon"], "crane", "crane ccon"],
      [["ccon", "--help"], "crane", "crane ccon"],
      [[], "ccon", "ccon"],
      [["--help"], "ccon", "ccon"],
    ] as const) {
      const r = await run([...argv], argv0);
      expect(r.code).toBe(0);
      expect(r.out).toContain(bin === "ccon" ? "$ ccon [COMMAND]" : "$ crane ccon COMMAND");
      expect(r.out).toMatch(/\n\s+(ccon )?run\s+Run a fixture container/);
      expect(r.out).toMatch(/\n\s+(ccon )?ps\s+List fixture containers/);
    }
  });

  it("shows command help with the right binary name", async () => {
    let r = await run(["ccon", "run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("$ crane ccon run");
    expect(r.out).toContain("-e, --env=<value>...");
    expect(r.out).toContain("CRANE FLAGS");
    expect(r.out).toContain("-p, --partition=<value>");
    expect(r.out).toContain("ccon -p CPU run");
    expect(r.out).toContain("$ crane ccon run -e A=1 busybox echo hi");
    expect(r.out).toContain("-C, --config=<value>");
    r = await run(["run", "-h"], "ccon");
    expect(r.out).toContain("$ ccon run");
    expect(r.out).not.toContain("crane ccon run");
    expect(r.out).toContain("$ ccon run -e A=1 busybox echo hi");
    r = await run(["help", "ccon", "ps"]);
    expect(r.out).toContain("$ crane ccon ps");
  });

  it("shows single-command help when invoked by a command's own name", async () => {
    const r = await run(["--help"], "cbatch");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\$ cbatch \[SCRIPT\]/);
  });
});

describe("version", () => {
  it("prints two lines at top level and on commands", async () => {
    const expected = `crane ${VERSION}\nSource Time: Unknown\n`;
    for (const [argv, argv0] of [
      [["--version"], "crane"],
      [["-v"], "crane"],
      [["ccon", "-v"], "crane"],
      [["ccon", "ps", "-v"], "crane"],
      [["-v"], "ccon"],
      [["--version"], "cbatch"],
    ] as const) {
      const r = await run([...argv], argv0);
      expect(r).toEqual({ code: 0, out: expected, err: "" });
    }
  });

  it("formats build times like Go's RFC1123Z in UTC", () => {
    expect(formatRfc1123Z(new Date(Date.UTC(2025, 0, 2, 3, 4, 5)))).toBe("Thu, 02 Jan 2025 03:04:05 +0000");
  });
});

describe("errors and exit codes", () => {
  it("CliError code 2 prints `Error: <msg>`", async () => {
    const r = await run(["ccon", "run", "--exit", "2", "img"]);
    expect(r).toEqual({ code: 2, out: "", err: "Error: asked to exit 2\n" });
  });

  it("other CliError codes print the bare message, or nothing when empty", async () => {
    let r = await run(["missing.sh"], "cbatch");
    expect(r).toEqual({ code: 6, out: "", err: "cannot open missing.sh\n" });
    r = await run(["cbatch", "quiet.sh"]);
    expect(r).toEqual({ code: 3, out: "", err: "" });
  });

  it("plain errors exit 1 with `Error: <msg>`", async () => {
    const r = await run(["ccon", "run", "--boom", "img"]);
    expect(r).toEqual({ code: 1, out: "", err: "Error: kaboom\n" });
  });

  it("this.exit(n) returns n without touching process.exitCode", async () => {
    const before = process.exitCode;
    const r = await run(["ccon", "ps", "--exit-with", "7"]);
    expect(r.code).toBe(7);
    expect(process.exitCode).toBe(before);
    expect((await run(["ccon", "ps", "--exit-with", "0"])).code).toBe(0);
  });

  it("parse errors exit 1 with a usage hint", async () => {
    let r = await run(["ccon", "ps", "--bogus"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("Error: Nonexistent flag: --bogus\nSee 'crane ccon ps --help'.\n");
    r = await run(["run"], "ccon");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^Error: Missing 1 required arg:\nimage\s+image to run\nSee 'ccon run --help'\.\n$/);
    r = await run(["ccon", "run", "--exit", "abc", "img"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^Error: invalid value for --exit: Expected an integer but received: abc\nSee 'crane ccon run --help'\.\n$/);
  });

  it("a value flag without its value is a usage error", async () => {
    const r = await run(["ccon", "run", "-v"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("Error: Flag --volume expects a value\nSee 'crane ccon run --help'.\n");
  });

  it("hidden commands run but stay out of help", async () => {
    const r = await run(["ccon", "--help"]);
    expect(r.out).not.toContain("logs");
  });

  it("unknown commands exit 1 and suggest close matches", async () => {
    let r = await run(["ccon", "runn"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`Error: unknown command "runn" for "crane ccon"\n\nDid you mean this?\n\trun\n\nRun 'crane ccon --help' for usage.\n`);
    r = await run(["cbach"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown command "cbach" for "crane"');
    expect(r.err).toContain("\tcbatch\n");
    r = await run(["zzz"], "ccon");
    expect(r.err).toBe(`Error: unknown command "zzz" for "ccon"\n\nRun 'ccon --help' for usage.\n`);
    expect(suggest("p", ["ps", "run"])).toEqual(["ps"]);
  });
});

describe("argv splitting", () => {
  const spec = buildFlagSpec({
    env: { type: "option", char: "e" },
    tty: { type: "boolean", char: "t" },
    interactive: { type: "boolean", char: "i" },
    name: { type: "option" },
  });
  it("handles attached values, combined shorts and --name=value", () => {
    expect(splitAtFirstPositional(["-eA=1", "-itename", "--name=x", "--name", "y", "img", "-e"], spec)).toEqual({
      head: ["-eA=1", "-itename", "--name=x", "--name", "y"],
      first: "img",
      tail: ["-e"],
    });
    expect(splitAtFirstPositional(["-it", "-e", "K"], spec)).toEqual({ head: ["-it", "-e", "K"], first: undefined, tail: [] });
    expect(splitAtFirstPositional(["-ti", "-1"], spec)).toEqual({ head: ["-ti"], first: "-1", tail: [] });
  });
});

describe("default registry", () => {
  it("loads src/commands/index.ts when no map is given", async () => {
    let out = "";
    const code = await runCommand(["--version"], { io: { out: (s) => void (out += s), err: () => {} } });
    expect(code).toBe(0);
    expect(out).toContain(`crane ${VERSION}`);
  });
});
