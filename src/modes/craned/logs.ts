// Serves a step's log file (CRI format, written by containerd or by the supervisor) over RPC, so that
// `ccon logs` and `crun` need no shared file system. With follow, it streams new lines until the step ended.
import type * as grpc from "@grpc/grpc-js";
import fs from "node:fs";
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

export async function streamStepLog(
  call: grpc.ServerWritableStream<StepLogRequest, StepLogChunk>,
  file: string,
  req: StepLogRequest,
  isDone: () => boolean,
): Promise<void> {
  let cancelled = false;
  call.on("cancelled", () => (cancelled = true));
  const send = (lines: LogLine[]) => {
    for (let i = 0; i < lines.length; i += BATCH) {
      call.write({ lines: lines.slice(i, i + BATCH), eof: false, exitCode: 0, status: 0 });
    }
  };

  let offset = 0;
  let carry = "";
  const readNew = (): LogLine[] => {
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch {
      return [];
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= offset) return [];
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const text = carry + buf.toString("utf8");
      const parts = text.split("\n");
      carry = parts.pop() ?? ""; // an incomplete last record waits for its newline
      return parts.map(toLogLine).filter((l): l is LogLine => !!l && inWindow(l, req));
    } finally {
      fs.closeSync(fd);
    }
  };

  let first = readNew();
  if (req.tail >= 0) first = req.tail === 0 ? [] : first.slice(-req.tail);
  send(first);
  if (req.follow) {
    // isDone is checked before the last read, so nothing written before the end is missed.
    for (;;) {
      if (cancelled) return;
      const done = isDone();
      send(readNew());
      if (done) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  call.end();
}
