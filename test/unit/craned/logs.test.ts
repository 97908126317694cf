// craned's log serving over a file bigger than its read chunk, to a client that applies backpressure.
import { EventEmitter } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepLogChunk, StepLogRequest } from "../../../src/core/generated/crane/crane";
import { lastRecordsStart } from "../../../src/core/node/log-files";
import { streamStepLog } from "../../../src/modes/craned/logs";

const LINES = 60_000; // ~4 MB: several 1 MiB chunks
let dir: string;
let file: string;
const text = (i: number) => `line ${i} é漢${"x".repeat(i % 50)}`; // multi-byte characters land on chunk edges

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-logs-"));
  file = path.join(dir, "1.log");
  const out = Array.from({ length: LINES }, (_, i) => `2026-12-02T10:00:00.000000000Z stdout F ${text(i)}\n`);
  fs.writeFileSync(file, out.join(""));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A server stream whose client is slow: every third write reports a full buffer, drained a tick later. */
function slowCall() {
  const call = new EventEmitter() as EventEmitter & { write(c: StepLogChunk): boolean; end(): void; got: string[]; ended: boolean; waits: number };
  call.got = [];
  call.ended = false;
  call.waits = 0;
  let writes = 0;
  call.write = (c: StepLogChunk) => {
    for (const l of c.lines) call.got.push(Buffer.from(l.data).toString("utf8"));
    if (++writes % 3 !== 0) return true;
    call.waits++;
    setImmediate(() => call.emit("drain"));
    return false;
  };
  call.end = () => void (call.ended = true);
  return call;
}

const request = (over: Partial<StepLogRequest>) => ({ follow: false, tail: -1, sinceMs: 0, untilMs: 0, ...over }) as StepLogRequest;

describe("streamStepLog", () => {
  it("serves every line of a log bigger than a chunk, in order, waiting for a slow client", async () => {
    const call = slowCall();
    await streamStepLog(call as never, file, request({}), () => true);
    expect(call.ended).toBe(true);
    expect(call.got).toHaveLength(LINES);
    expect(call.got.every((l, i) => l === text(i))).toBe(true);
    expect(call.waits).toBeGreaterThan(10);
  });

  it("serves the last N lines, or none for --tail 0", async () => {
    const tail = slowCall();
    await streamStepLog(tail as never, file, request({ tail: 3 }), () => true);
    expect(tail.got).toEqual([text(LINES - 3), text(LINES - 2), text(LINES - 1)]);
    const none = slowCall();
    await streamStepLog(none as never, file, request({ tail: 0 }), () => true);
    expect(none.got).toEqual([]);
  });

  it("lastRecordsStart counts records from the end across chunks, and the whole file when it has fewer", () => {
    const fd = fs.openSync(file, "r");
    const size = fs.fstatSync(fd).size;
    const { offset: at, found } = lastRecordsStart(fd, size, 30_000);
    expect(found).toBe(30_000);
    expect(fs.readFileSync(file).subarray(at).toString("utf8").split("\n").filter(Boolean)).toHaveLength(30_000);
    expect(lastRecordsStart(fd, size, LINES + 5)).toEqual({ offset: 0, found: LINES });
    fs.closeSync(fd);
  });
});
