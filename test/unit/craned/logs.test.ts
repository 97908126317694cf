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
  const call = new EventEmitter() as EventEmitter & {
    write(c: StepLogChunk): boolean;
    end(): void;
    got: string[];
    cursors: string[];
    ended: boolean;
    waits: number;
  };
  call.got = [];
  call.cursors = [];
  call.ended = false;
  call.waits = 0;
  let writes = 0;
  call.write = (c: StepLogChunk) => {
    for (const l of c.lines) call.got.push(Buffer.from(l.data).toString("utf8"));
    call.cursors.push(c.cursor);
    if (++writes % 3 !== 0) return true;
    call.waits++;
    setImmediate(() => call.emit("drain"));
    return false;
  };
  call.end = () => void (call.ended = true);
  return call;
}

const request = (over: Partial<StepLogRequest>) =>
  ({ follow: false, tail: -1, sinceMs: 0, untilMs: 0, node: "n1", resumeCursors: {}, ...over }) as StepLogRequest;

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

  it("a reader resumed at a message's cursor sends what came after it, once, also after the file was rotated", async () => {
    const first = slowCall();
    await streamStepLog(first as never, file, request({}), () => true);
    const k = Math.floor(first.cursors.length / 2);
    const upTo = first.cursors.slice(0, k + 1);
    // A client that got the first k+1 messages only (its stream broke there).
    const cut = slowCall();
    cut.write = ((orig) => (c: StepLogChunk) => {
      if (cut.cursors.length > k) return true;
      return orig(c);
    })(cut.write);
    await streamStepLog(cut as never, file, request({}), () => true);
    expect(cut.cursors).toEqual(upTo);

    const rotatedDir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-logs-rot-"));
    const live = path.join(rotatedDir, "1.log");
    fs.copyFileSync(file, live);
    // The cursor names the file by inode: the copy's, at the same offset.
    const cursor = upTo[k]!.replace(/^\d+:/, `${fs.statSync(live).ino}:`);
    // The writer rotates the file and goes on in a new one.
    fs.renameSync(live, `${live}.1`);
    fs.writeFileSync(live, "2026-12-02T10:00:01.000000000Z stderr F after the rotation\n");
    const resumed = slowCall();
    await streamStepLog(resumed as never, live, request({ resumeCursors: { n1: cursor } }), () => true);
    expect([...cut.got, ...resumed.got]).toEqual([...first.got, "after the rotation"]);
    // Another node's cursor does not move this node's reader.
    const other = slowCall();
    await streamStepLog(other as never, live, request({ resumeCursors: { n2: cursor }, tail: 1 }), () => true);
    expect(other.got).toEqual(["after the rotation"]);
    fs.rmSync(rotatedDir, { recursive: true, force: true });
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
