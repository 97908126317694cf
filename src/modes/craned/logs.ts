// Serves a step's log file (CRI format, written by containerd or by the supervisor) over RPC, so that
// `ccon logs` and `crun` need no shared file system. With follow, it streams new lines until the step ended.
import type * as grpc from "@grpc/grpc-js";
import fs from "node:fs";
import { StringDecoder } from "node:string_decoder";
import type { LogLine, StepLogChunk, StepLogRequest } from "../../core/generated/crane/crane";
import { formatRfc3339Nano, parseCriLogLine } from "../../core/cri/logs";

const POLL_MS = 25; // a follower sees new output (and the step's end) this soon
const BATCH = 500;

function toLogLine(text: string): LogLine | undefined {
  const parsed = parseCriLogLine(text);
  if (!parsed) return undefined;
  return { time: formatRfc3339Nano(parsed.timeNs), stream: parsed.stream, partial: parsed.partial, data: Buffer.from(parsed.data, "utf8"), node: "" };
}

function inWindow(line: LogLine, req: StepLogRequest): boolean {
  if (!req.sinceMs && !req.untilMs) return true;
  const t = Date.parse(line.time);
  if (Number.isNaN(t)) return true;
  if (req.sinceMs && t < req.sinceMs) return false;
  if (req.untilMs && t > req.untilMs) return false;
  return true;
}

/** Bytes read from the file at a time: a log of any size is served in bounded memory. */
const CHUNK_BYTES = 1 << 20;

/** Where the last `n` records of the file start (0 when it has fewer). Reads backwards, a chunk at a time. */
export function tailOffset(fd: number, size: number, n: number): number {
  let end = size;
  // A final newline ends the last record; it does not start one.
  let newlines = 0;
  const buf = Buffer.alloc(CHUNK_BYTES);
  while (end > 0) {
    const start = Math.max(0, end - CHUNK_BYTES);
    const len = end - start;
    fs.readSync(fd, buf, 0, len, start);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 10 || start + i === size - 1) continue;
      if (++newlines === n) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

export async function streamStepLog(
  call: grpc.ServerWritableStream<StepLogRequest, StepLogChunk>,
  file: string,
  req: StepLogRequest,
  isDone: () => boolean,
): Promise<void> {
  let cancelled = false;
  call.on("cancelled", () => (cancelled = true));
  /** Sends in batches, waiting whenever the client is slower than the file: memory stays bounded. */
  const send = async (lines: LogLine[]) => {
    for (let i = 0; i < lines.length && !cancelled; i += BATCH) {
      if (!call.write({ lines: lines.slice(i, i + BATCH), eof: false, exitCode: 0, status: 0 })) {
        await new Promise<void>((r) => {
          call.once("drain", r);
          call.once("cancelled", r);
        });
      }
    }
  };

  let offset = -1; // not yet positioned: the start of the file, or of its tail
  let carry = "";
  const decoder = new StringDecoder("utf8"); // a character cut by a chunk's end waits for its other bytes
  /** Sends what the file holds beyond what was sent, a chunk at a time. */
  const pump = async (): Promise<void> => {
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch {
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (offset < 0) offset = req.tail === 0 ? size : req.tail > 0 ? tailOffset(fd, size, req.tail) : 0;
      const buf = Buffer.alloc(Math.min(CHUNK_BYTES, Math.max(0, size - offset)));
      while (offset < size && !cancelled) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
        if (n <= 0) break;
        offset += n;
        const parts = (carry + decoder.write(buf.subarray(0, n))).split("\n");
        carry = parts.pop() ?? ""; // an incomplete last record waits for its newline
        await send(parts.map(toLogLine).filter((l): l is LogLine => !!l && inWindow(l, req)));
      }
    } finally {
      fs.closeSync(fd);
    }
  };

  await pump();
  if (req.follow) {
    // isDone is checked before the last read, so nothing written before the end is missed.
    for (;;) {
      if (cancelled) return;
      const done = isDone();
      await pump();
      if (done) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  if (!cancelled) call.end();
}
