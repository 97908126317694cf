// The built executable resolves argv from a JSON manifest of the commands' flags (made at build time) and loads
// only the command that runs: the manifest must resolve exactly as the command classes do.
import { describe, expect, it } from "vitest";
import { commands } from "../../../src/commands/index.js";
import { loaders } from "../../../src/commands/lazy.js";
import { manifestOf, Registry, resolve, viewPrefix, type CommandInfo } from "../../../src/core/cli/resolve.js";

function outcome(reg: Registry, argv0: string, argv: string[]) {
  try {
    return resolve(reg, viewPrefix(reg, argv0), argv);
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

describe("command manifest", () => {
  const manifest = JSON.parse(JSON.stringify(manifestOf(commands))) as ReturnType<typeof manifestOf>;
  const fromClasses = new Registry(commands as unknown as Record<string, CommandInfo>, {});
  const fromManifest = new Registry(manifest.commands, manifest.topics);

  it("lists the same commands as the lazy loaders", () => {
    expect(Object.keys(loaders).sort()).toEqual(Object.keys(commands).sort());
    expect(Object.keys(manifest.commands).sort()).toEqual(Object.keys(commands).sort());
  });

  it("resolves argv as the command classes do", () => {
    const cases: [string, string[]][] = [
      ["crane", ["--version"]],
      ["crane", ["-v"]],
      ["crane", []],
      ["crane", ["help", "ccon", "run"]],
      ["crane", ["cbatch", "-H", "--wrap", "true"]],
      ["cbatch", ["-H", "--wrap", "true", "--version"]],
      ["crane", ["-C", "/x.yaml", "cqueue", "-v"]],
      ["ccon", ["run", "-v", "/a:/b", "busybox", "ls", "--version"]],
      ["ccon", ["run", "busybox", "-v"]],
      ["ccon", ["-p", "CPU", "ps"]],
      ["ccon", ["ps", "--help"]],
      ["crane", ["ccon", "exec", "-it", "1.1", "sh"]],
      ["crane", ["zzz"]],
      ["crane", ["ccon", "--", "run"]],
    ];
    for (const [argv0, argv] of cases) {
      expect(outcome(fromManifest, argv0, argv), `${argv0} ${argv.join(" ")}`).toEqual(outcome(fromClasses, argv0, argv));
    }
  });
});
