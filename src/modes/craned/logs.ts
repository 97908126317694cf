// Serves a step's log (CRI format, written by containerd or by the supervisor; its kept rotated files first) over
// RPC, so that `ccon logs` and `crun` need no shared file system. With follow, it streams new lines until the step
// ended. Memory stays bounded whatever the log's size: the file is read a chunk at a time, each line's data is sent
// as the bytes read (never decoded), and a client slower than the file pauses the reading.
import type * as grpc from "@grpc/grpc-js";
import type { LogLine, StepLogChunk, StepLogRequest } from "../../core/generated/crane/crane";
import { normalizeRfc3339Nano, parseCriLogRecord } from "../../core/cri/logs";
import { StepLogReader } from "../../core/node/log-files";

const POLL_MS = 25; // a follower sees new output (and the step's end) this soon
/** How long a follower stays at the end of a rotated file in case the runtime still writes it (until its log reopen). */
const ROTATION_SETTLE_MS = 100;
/** Data bytes per message: a few lines of 16 KiB or many short ones, never a message of a whole file. */
const MESSAGE_BYTES = 64 * 1024;

function toLogLine(record: Buffer): LogLine | undefined {
  const parsed = parseCriLogRecord(record);
  const time = parsed && normalizeRfc3339Nano(parsed.time);
  if (!parsed || !time) return undefined;
  return { time, stream: parsed.stream, partial: parsed.partial, data: parsed.data, node: "" };
}

function inWindow(line: LogLine, req: StepLogRequest): boolean {
  if (!req.sinceMs && !req.untilMs) return true;
  const t = Date.parse(line.time);
  if (Number.isNaN(t)) return true;
  if (req.sinceMs && t < req.sinceMs) return false;
  if (req.untilMs && t > req.untilMs) return false;
  return true;
}

export async function streamStepLog(
  call: grpc.ServerWritableStream<StepLogRequest, StepLogChunk>,
  file: string,
  req: StepLogRequest,
  isDone: () => boolean,
): Promise<void> {
  let cancelled = false;
  call.on("cancelled", () => (cancelled = true));
  /** Resolves once the client took what was written (or went away). */
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        call.off("drain", done);
        call.off("cancelled", done);
        resolve();
      };
      call.on("drain", done);
      call.on("cancelled", done);
    });
  const send = async (lines: LogLine[], cursor: string) => {
    if (!call.write({ lines, eof: false, exitCode: 0, status: 0, cursor })) await drained();
  };

  const reader = new StepLogReader(file);
  let positioned = false;
  /** Sends what the files hold beyond what was sent. */
  const pump = async (settleMs: number): Promise<void> => {
    const cursor = Object.hasOwn(req.resumeCursors, req.node) ? req.resumeCursors[req.node] : undefined;
    positioned ||= cursor ? reader.resume(cursor) : reader.start(req.tail);
    if (!positioned) return; // no log yet
    let batch: LogLine[] = [];
    let bytes = 0;
    let batchEnd = "";
    for (let records = reader.next(settleMs); records && !cancelled; records = reader.next(settleMs)) {
      let start = 0;
      for (let nl = records.indexOf(10); nl >= 0; nl = records.indexOf(10, start)) {
        const line = toLogLine(records.subarray(start, nl));
        start = nl + 1;
        if (!line || !inWindow(line, req)) continue;
        batch.push(line);
        batchEnd = reader.cursorAfter(start);
        bytes += line.data.length;
        if (bytes < MESSAGE_BYTES) continue;
        await send(batch, batchEnd);
        if (cancelled) return;
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length && !cancelled) await send(batch, batchEnd);
  };

  try {
    if (!req.follow) return await pump(0);
    for (;;) {
      if (cancelled) return;
      // isDone is checked before the last read, so nothing written before the end is missed; the last read moves
      // through a rotation at once (nothing writes the old file any more).
      const done = isDone();
      await pump(done ? 0 : ROTATION_SETTLE_MS);
      if (done) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    reader.close();
    if (!cancelled) call.end();
  }
}
