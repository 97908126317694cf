// The Ctrl-P Ctrl-Q detach filter, with the reference CLI's test vectors, and where it is enabled.
import { describe, expect, it } from "vitest";
import CconAttach from "../../../src/commands/ccon/attach";
import CconExec from "../../../src/commands/ccon/exec";
import CconRun from "../../../src/commands/ccon/run";
import { CTRL_P as P, CTRL_Q as Q, DetachFilter, shouldEnableDetach } from "../../../src/core/cli/detach";

const a = 0x61;
const b = 0x62;
const x = 0x78;

/** Feeds reads (each with its time in ms) and collects what would be sent, stopping at a detach. */
function feed(reads: { bytes: number[]; at?: number }[], eof = false): { sent: number[][]; detached: boolean } {
  const f = new DetachFilter();
  const sent: number[][] = [];
  for (const r of reads) {
    const { data, detach } = f.push(Uint8Array.from(r.bytes), r.at ?? 0);
    if (data.length) sent.push([...data]);
    if (detach) return { sent, detached: true };
  }
  if (eof) {
    const rest = f.end();
    if (rest.length) sent.push([...rest]);
  }
  return { sent, detached: f.detached };
}

describe("DetachFilter", () => {
  it("a P Q b: delivers a, detaches, drops b", () => {
    expect(feed([{ bytes: [a, P, Q, b] }])).toEqual({ sent: [[a]], detached: true });
  });

  it("reads [a,P] then [Q,b]: a, then the end", () => {
    expect(feed([{ bytes: [a, P] }, { bytes: [Q, b] }])).toEqual({ sent: [[a]], detached: true });
  });

  it("[P], 1.1 s later [x]: P x, no detach", () => {
    expect(
      feed([
        { bytes: [P], at: 0 },
        { bytes: [x], at: 1100 },
      ]),
    ).toEqual({ sent: [[P, x]], detached: false });
  });

  it("a Q more than 1 s after the P is ordinary data", () => {
    expect(
      feed([
        { bytes: [P], at: 0 },
        { bytes: [Q], at: 1100 },
      ]),
    ).toEqual({ sent: [[P, Q]], detached: false });
  });

  it("a Q within 1 s of the P detaches, across reads", () => {
    expect(
      feed([
        { bytes: [P], at: 0 },
        { bytes: [Q], at: 900 },
      ]),
    ).toEqual({ sent: [], detached: true });
  });

  it("[P] then the end of input: P", () => {
    expect(feed([{ bytes: [P] }], true)).toEqual({ sent: [[P]], detached: false });
  });

  it("P P x: P P x", () => {
    expect(feed([{ bytes: [P, P, x] }])).toEqual({ sent: [[P, P, x]], detached: false });
  });

  it("a P P Q b: a P, then detach", () => {
    expect(feed([{ bytes: [a, P, P, Q, b] }])).toEqual({ sent: [[a, P]], detached: true });
  });

  it("after a detach every later read is empty", () => {
    const f = new DetachFilter();
    expect(f.push(Uint8Array.of(P, Q)).detach).toBe(true);
    expect([...f.push(Uint8Array.of(a, b)).data]).toEqual([]);
    expect([...f.end()]).toEqual([]);
  });

  it("plain input passes through unchanged", () => {
    expect(feed([{ bytes: [a, b, x] }, { bytes: [0x0d] }], true)).toEqual({ sent: [[a, b, x], [0x0d]], detached: false });
  });
});

describe("shouldEnableDetach", () => {
  it.each([
    [true, true, true, true],
    [true, true, false, false],
    [true, false, true, false],
    [false, true, true, false],
    [false, false, false, false],
    [true, false, false, false],
    [false, true, false, false],
    [false, false, true, false],
  ])("stdin=%s tty=%s terminal=%s -> %s", (stdin, tty, terminal, expected) => {
    expect(shouldEnableDetach(stdin, tty, terminal)).toBe(expected);
  });
});

describe("help of the interactive commands", () => {
  it.each([
    ["run", CconRun],
    ["attach", CconAttach],
    ["exec", CconExec],
  ])("ccon %s names the detach key", (_name, command) => {
    expect(command.description).toContain("Ctrl-P + Ctrl-Q");
  });
});
