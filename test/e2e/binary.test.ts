// End-to-end checks of the single executable. Build it first: `npm run build` (the suite is skipped without it).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "..", "..");
const DIST = join(ROOT, "dist");
const CRANE = join(DIST, "crane");
const built = existsSync(CRANE);

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((e) => newestMtime(join(p, e))));
}

/** Run a dist executable with no Node anywhere on PATH. */
function exe(name: string, args: string[]) {
  const r = spawnSync(join(DIST, name), args, {
    encoding: "utf8",
    env: { PATH: "/nonexistent", HOME: "/nonexistent", LANG: "C" },
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr, error: r.error };
}

/** Ids of the visible commands in the source registry (the binary should have been built from it). */
async function registryIds(): Promise<string[]> {
  const { commands } = (await import("../../src/commands/index.js")) as { commands: Record<string, { hidden?: boolean }> };
  return Object.keys(commands).filter((id) => !commands[id]!.hidden);
}

describe.skipIf(!built)("dist/crane (single executable)", () => {
  it("is not older than the sources (else: npm run build)", () => {
    const stale = newestMtime(join(ROOT, "src")) > statSync(CRANE).mtimeMs;
    expect(stale, "dist/crane is older than src/: run `npm run build`").toBe(false);
  });

  it("is a large self-contained executable, with the multi-call symlinks", () => {
    expect(statSync(CRANE).size).toBeGreaterThan(50 * 1024 * 1024);
    for (const n of ["ccon", "cbatch", "crun", "cqueue", "ccancel", "cinfo"]) expect(existsSync(join(DIST, n))).toBe(true);
  });

  it("prints the version without node on PATH", () => {
    const r = exe("crane", ["--version"]);
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^crane \d+\.\d+\.\d+\S*\nSource Time: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\n$/);
    expect(r.err).toBe("");
    expect(exe("crane", ["-v"]).out).toBe(r.out);
    expect(exe("cbatch", ["--version"]).out).toBe(r.out);
  });

  it("shows root help", () => {
    for (const args of [["--help"], []]) {
      const r = exe("crane", args);
      expect(r.code).toBe(0);
      expect(r.out).toContain("$ crane [COMMAND]");
      expect(r.err).toBe("");
    }
  });

  it("dispatches on the symlink name (ccon)", () => {
    const r = exe("ccon", ["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("$ ccon");
    expect(r.err).toBe("");
  });

  it("rejects unknown commands with exit 1", () => {
    const r = exe("crane", ["definitely-not-a-command"]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain('unknown command "definitely-not-a-command" for "crane"');
  });

  it("shows help for the registered commands", async () => {
    const ids = await registryIds();
    if (ids.includes("ccon:run")) {
      expect(exe("ccon", ["--help"]).out).toMatch(/\n\s+run\s/);
      expect(exe("crane", ["ccon", "--help"]).out).toContain("ccon run");
      expect(exe("ccon", ["run", "--help"]).out).toContain("$ ccon run");
      expect(exe("crane", ["ccon", "run", "--help"]).out).toContain("$ crane ccon run");
    }
    const top = [...new Set(ids.map((id) => id.split(":")[0]!))];
    const rootHelp = exe("crane", ["--help"]).out;
    for (const word of top) expect(rootHelp).toContain(word);
    for (const id of ids) {
      const r = exe("crane", [...id.split(":"), "--help"]);
      expect(r.code, `crane ${id} --help`).toBe(0);
      expect(r.out).toContain(`$ crane ${id.replaceAll(":", " ")}`);
    }
    for (const tool of ["cbatch", "crun", "cqueue", "ccancel", "cinfo"].filter((t) => ids.includes(t))) {
      const r = exe(tool, ["--help"]);
      expect(r.code, `${tool} --help`).toBe(0);
      expect(r.out).toContain(`$ ${tool} `);
    }
  });
});
