// The completion scripts come from the command registry: every visible command and each of its flags must be in
// them, and the scripts must really complete in their shells.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { commands, topics } from "../../../src/commands/index";
import { completionScript, completionTree } from "../../../src/core/cli/completion";
import { manifestOf } from "../../../src/core/cli/resolve";

const manifest = manifestOf(commands, topics);
const tree = completionTree(manifest);
const hasZsh = spawnSync("zsh", ["-c", "true"]).status === 0;

/** What the bash script offers for the words typed so far (the last one being completed). */
function bashComplete(...words: string[]): string[] {
  const script = `${completionScript("bash", manifest)}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _crane; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["--norc", "-c", script], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter(Boolean);
}

/** The same in zsh, with the completion system's compadd and _files standing in as printers. */
function zshComplete(...words: string[]): string[] {
  const script = `compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }; _files() { print -- '<files>'; }
${completionScript("zsh", manifest)}
words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; _crane`;
  const r = spawnSync("zsh", ["-f", "-c", script], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter(Boolean);
}

describe("shell completion", () => {
  it("holds every visible command and every flag of each", () => {
    for (const shell of ["bash", "zsh"] as const) {
      const script = completionScript(shell, manifest);
      for (const [id, info] of Object.entries(manifest.commands)) {
        const key = `crane:${id}`;
        if (info.hidden) {
          expect(script, `${shell}: hidden ${id}`).not.toContain(`[${key}]`);
          continue;
        }
        const words = id.split(":");
        const parent = ["crane", ...words.slice(0, -1)].join(":");
        expect(script, `${shell}: ${id} under ${parent}`).toMatch(new RegExp(`\\[${parent}\\]="[^"]* ${words.at(-1)} `));
        for (const [name, f] of Object.entries({ ...info.baseFlags, ...info.flags })) {
          const line = script.split("\n").find((l) => l.startsWith(`  [${key}]=`)) ?? "";
          expect(line, `${shell}: ${id} --${name}`).toContain(` --${name} `);
          if (f.char) expect(line, `${shell}: ${id} -${f.char}`).toContain(` -${f.char} `);
        }
      }
    }
  });

  it("knows which flags take a value and which commands pass the rest on", () => {
    expect(tree.get("crane:ccon:run")!.valued).toEqual(expect.arrayContaining(["--env", "-e", "--config", "-C"]));
    expect(tree.get("crane:ccon:run")!.stopAtFirstPositional).toBe(true);
    expect(tree.get("crane:cbatch")!.valued).not.toContain("--pod");
    expect(tree.get("crane:ccon")!.flags).toEqual(expect.arrayContaining(["--partition", "-p"]));
  });

  it("completes in bash", () => {
    expect(bashComplete("crane", "")).toEqual(expect.arrayContaining(["ccon", "cbatch", "completion", "config", "top"]));
    expect(bashComplete("crane", "")).not.toContain("supervisor");
    expect(bashComplete("crane", "con")).toEqual(["config"]);
    expect(bashComplete("crane", "config", "")).toEqual(["check", "reference"]);
    expect(bashComplete("/usr/local/bin/ccon", "a")).toEqual(["attach"]);
    expect(bashComplete("ccon", "-p", "CPU", "r")).toEqual(["run"]);
    expect(bashComplete("crane", "ccon", "run", "--en")).toEqual(["--env", "--entrypoint"]);
    expect(bashComplete("cbatch", "--ti")).toEqual(["--time"]);
    expect(bashComplete("cbatch", "-p", "")).toEqual([]); // the partition's name: files, by bash's default
    expect(bashComplete("ccon", "run", "busybox", "--e")).toEqual([]); // the container's own argument
    expect(bashComplete("cqueue", "--self", "--")).toEqual(expect.arrayContaining(["--json", "--watch", "--noheader"]));
  });

  it.skipIf(!hasZsh)("completes in zsh", () => {
    expect(zshComplete("crane", "")).toEqual(expect.arrayContaining(["ccon", "cbatch", "completion", "config"]));
    expect(zshComplete("crane", "config", "")).toEqual(["check", "reference"]);
    expect(zshComplete("ccon", "-p", "CPU", "")).toContain("run");
    expect(zshComplete("cbatch", "--")).toEqual(expect.arrayContaining(["--time", "--partition", "--config"]));
    expect(zshComplete("cbatch", "-p", "")).toEqual(["<files>"]);
    expect(zshComplete("ccon", "run", "busybox", "")).toEqual(["<files>"]);
  });
});
