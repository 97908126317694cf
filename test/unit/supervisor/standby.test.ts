import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { awaitHandoff } from "../../../src/modes/supervisor/standby";

describe("a standby supervisor's handoff", () => {
  it("takes the step's spec and log file from one JSON line, even when it arrives in pieces", async () => {
    const input = new PassThrough();
    const got = awaitHandoff(input);
    input.write('{"spec":"/state/steps/7.1/spec.json",');
    input.write('"log":"/state/logs/7/supervisor-1.log"}\n');
    expect(await got).toEqual({ spec: "/state/steps/7.1/spec.json", log: "/state/logs/7/supervisor-1.log" });
  });

  it("gives up when craned closes its stdin without a step, or sends something else", async () => {
    const closed = new PassThrough();
    const a = awaitHandoff(closed);
    closed.end();
    expect(await a).toBeUndefined();
    const garbage = new PassThrough();
    const b = awaitHandoff(garbage);
    garbage.write("not json\n");
    expect(await b).toBeUndefined();
  });
});
