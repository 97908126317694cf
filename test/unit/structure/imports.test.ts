// The code's layering, checked: no circle of imports between files, and each daemon's code does not reach into another's.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(__dirname, "../../../src");

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "generated" ? [] : sourceFiles(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Each file's relative imports (type-only ones too), resolved to files. */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const targets: string[] = [];
    for (const m of fs.readFileSync(f, "utf8").matchAll(/(?:from|import)\s+"(\.[^"]*)"/g)) {
      const base = path.resolve(path.dirname(f), m[1]!);
      const hit = [`${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")].find((c) => fs.existsSync(c));
      if (hit) targets.push(hit);
    }
    graph.set(f, targets);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === "open") found.push([...stack.slice(stack.indexOf(t)), t].map((p) => path.relative(SRC, p)));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

describe("imports", () => {
  const graph = importGraph(sourceFiles(SRC));

  it("form no circle anywhere in src/", () => {
    expect([...graph.values()].flat().length).toBeGreaterThan(300);
    expect(cycles(graph)).toEqual([]);
  });

  it("finds a circle when there is one (the check itself works)", () => {
    expect(
      cycles(
        new Map([
          ["a", ["b"]],
          ["b", ["a"]],
        ]),
      ).length,
    ).toBe(1);
  });

  it("keep each process's code to itself: a mode imports another mode's code only through src/core", () => {
    const crossings: string[] = [];
    for (const [from, targets] of graph) {
      const mode = /src\/modes\/([^/]+)\//.exec(from)?.[1];
      for (const t of targets) {
        const other = /src\/modes\/([^/]+)\//.exec(t)?.[1];
        if (mode && other && other !== mode) crossings.push(`${path.relative(SRC, from)} -> ${path.relative(SRC, t)}`);
      }
    }
    expect(crossings).toEqual([]);
  });
});
