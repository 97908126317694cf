// Container log files as the runtime writes them (CRI logging format), one record per line:
//   <RFC3339Nano time> <stdout|stderr> <P|F>[:more tags] <text>
// "F" ends a line of output; "P" is a piece of a longer line (or the unterminated output left at exit) that
// continues in the next record of the same stream. The exact output is therefore the concatenation of
// `data + (partial ? "" : "\n")` over a stream's records. The runtime writes a record at the newline, so an
// unterminated last line in the file is a write in progress and is never returned.
import fsp from "node:fs/promises";

export type LogStream = "stdout" | "stderr";

export interface CriLogLine {
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  stream: LogStream;
  /** True for a "P" record: no newline followed this data. */
  partial: boolean;
  /** The text, without the newline (decoded as UTF-8). */
  data: string;
}

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;
const NS_PER_MS = 1_000_000n;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 time with up to nanosecond precision (what Go's RFC3339Nano writes) to ns since the epoch. */
export function parseRfc3339Nano(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  let ns = BigInt(ms) * NS_PER_MS + BigInt((frac ?? "").padEnd(9, "0") || "0");
  if (!z) {
    const offsetMin = Number(oh) * 60 + Number(om);
    ns -= BigInt((sign === "-" ? -1 : 1) * offsetMin * 60) * 1_000_000_000n;
  }
  return ns;
}

/** Formats ns since the epoch as RFC 3339 in UTC with 9 fractional digits. */
export function formatRfc3339Nano(ns: bigint): string {
  const seconds = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
  const frac = ns - seconds * 1_000_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString(); // 2024-01-02T03:04:05.000Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, "0")}Z`;
}

/** Formats an RFC 3339 time as formatRfc3339Nano does; one already in that form (what crane and mostly the runtime write) is returned as it is. */
export function normalizeRfc3339Nano(text: string): string | undefined {
  if (text.length === 30 && text[29] === "Z" && text[19] === "." && text[10] === "T" && RFC3339.test(text)) return text;
  const ns = parseRfc3339Nano(text);
  return ns === undefined ? undefined : formatRfc3339Nano(ns);
}

/** A record with its time as written and its data as the bytes of the file (not decoded, not copied). */
export interface CriLogRecord {
  time: string;
  stream: LogStream;
  partial: boolean;
  data: Buffer;
}

const SPACE = 0x20;
const COLON = 0x3a;
const TAG_PARTIAL = 0x50; // "P"
const TAG_FULL = 0x46; // "F"

/** Parses one record (without its newline) in place; undefined when it is not in CRI log format. */
export function parseCriLogRecord(line: Buffer): CriLogRecord | undefined {
  const s1 = line.indexOf(SPACE);
  if (s1 < 0) return undefined;
  const s2 = line.indexOf(SPACE, s1 + 1);
  if (s2 < 0) return undefined;
  let s3 = line.indexOf(SPACE, s2 + 1);
  if (s3 < 0) s3 = line.length; // "<time> <stream> F" with empty text and no trailing space
  const stream = line.toString("latin1", s1 + 1, s2);
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  // The tag is "P" or "F", optionally followed by ":"-separated further tags.
  const tag = line[s2 + 1];
  if ((tag !== TAG_PARTIAL && tag !== TAG_FULL) || (s3 !== s2 + 2 && line[s2 + 2] !== COLON)) return undefined;
  const time = line.toString("latin1", 0, s1);
  if (!RFC3339.test(time)) return undefined;
  return { time, stream, partial: tag === TAG_PARTIAL, data: line.subarray(Math.min(s3 + 1, line.length)) };
}

/** Parses one record (without its newline); undefined when the line is not in CRI log format. */
export function parseCriLogLine(line: string | Buffer): CriLogLine | undefined {
  const record = parseCriLogRecord(typeof line === "string" ? Buffer.from(line, "utf8") : line);
  const timeNs = record && parseRfc3339Nano(record.time);
  if (!record || timeNs === undefined) return undefined;
  return { timeNs, stream: record.stream, partial: record.partial, data: record.data.toString("utf8") };
}

/** Formats a record as the runtime would (for tests and tools). */
export function formatCriLogLine(line: CriLogLine): string {
  return `${formatRfc3339Nano(line.timeNs)} ${line.stream} ${line.partial ? "P" : "F"} ${line.data}\n`;
}

/** Merges each run of "P" records with the record that completes it (per stream), giving whole lines. */
export function joinPartialLines(lines: readonly CriLogLine[]): CriLogLine[] {
  const out: CriLogLine[] = [];
  const pending = new Map<LogStream, CriLogLine>();
  for (const line of lines) {
    const head = pending.get(line.stream);
    const merged = head ? { ...head, data: head.data + line.data, partial: line.partial } : { ...line };
    if (merged.partial) {
      pending.set(line.stream, merged);
    } else {
      pending.delete(line.stream);
      out.push(merged);
    }
  }
  for (const rest of pending.values()) out.push(rest);
  return out.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
}

export interface LogFilter {
  /** Only records at or after this time (ns since the epoch). */
  sinceNs?: bigint;
  /** Only records at or before this time. */
  untilNs?: bigint;
  /** Only these streams (default both). */
  streams?: readonly LogStream[];
}

function accepts(filter: LogFilter, line: CriLogLine): boolean {
  if (filter.sinceNs !== undefined && line.timeNs < filter.sinceNs) return false;
  if (filter.untilNs !== undefined && line.timeNs > filter.untilNs) return false;
  if (filter.streams && !filter.streams.includes(line.stream)) return false;
  return true;
}

export interface ReadLogOptions extends LogFilter {
  /** Only the last N records that pass the filter. */
  tail?: number;
}

async function readAt(fd: fsp.FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fd.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** Complete records from `offset` to the last newline before `end`; returns them and the offset after them. */
async function readForward(fd: fsp.FileHandle, offset: number, end: number, onLine: (line: CriLogLine) => void): Promise<number> {
  let carry: Buffer = Buffer.alloc(0);
  let pos = offset;
  let consumed = offset;
  while (pos < end) {
    const chunk = await readAt(fd, Math.min(CHUNK, end - pos), pos);
    if (chunk.length === 0) break;
    pos += chunk.length;
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
      const parsed = parseCriLogLine(buf.subarray(start, nl));
      if (parsed) onLine(parsed);
      start = nl + 1;
    }
    consumed += start;
    carry = Buffer.from(buf.subarray(start));
  }
  return consumed;
}

/** The last `count` accepted records before `end` (read backwards), and the offset after the last complete record. */
async function readBackward(fd: fsp.FileHandle, end: number, count: number, filter: LogFilter): Promise<{ lines: CriLogLine[]; endOffset: number }> {
  const reversed: CriLogLine[] = [];
  let endOffset: number | undefined; // after the last newline of the file
  let rest: Buffer = Buffer.alloc(0); // bytes after `pos` not yet split into lines
  let pos = end;
  while (pos > 0 && (reversed.length < count || endOffset === undefined)) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    let buf = Buffer.concat([await readAt(fd, len, pos), rest]);
    if (endOffset === undefined) {
      const lastNl = buf.lastIndexOf(NEWLINE);
      if (lastNl < 0) {
        rest = buf;
        continue;
      }
      endOffset = pos + lastNl + 1;
      buf = buf.subarray(0, lastNl + 1);
    }
    // buf ends with a newline; split lines from the end.
    let lineEnd = buf.length - 1;
    while (lineEnd >= 0 && reversed.length < count) {
      const prevNl = lineEnd === 0 ? -1 : buf.lastIndexOf(NEWLINE, lineEnd - 1);
      if (prevNl < 0 && pos > 0) break; // the line starts in an earlier chunk
      const parsed = parseCriLogLine(buf.subarray(prevNl + 1, lineEnd));
      if (parsed && accepts(filter, parsed)) reversed.push(parsed);
      lineEnd = prevNl;
    }
    rest = Buffer.from(buf.subarray(0, lineEnd + 1));
  }
  return { lines: reversed.reverse(), endOffset: endOffset ?? 0 };
}

async function openIfExists(path: string): Promise<fsp.FileHandle | undefined> {
  try {
    return await fsp.open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Reads the records of a log file that pass the filters (a missing file reads as empty). */
export async function readCriLog(path: string, opts: ReadLogOptions = {}): Promise<CriLogLine[]> {
  const fd = await openIfExists(path);
  if (!fd) return [];
  try {
    const { size } = await fd.stat();
    if (opts.tail !== undefined) {
      if (opts.tail <= 0) return [];
      return (await readBackward(fd, size, opts.tail, opts)).lines;
    }
    const lines: CriLogLine[] = [];
    await readForward(fd, 0, size, (line) => {
      if (accepts(opts, line)) lines.push(line);
    });
    return lines;
  } finally {
    await fd.close();
  }
}

export interface FollowLogOptions extends LogFilter {
  onLine: (line: CriLogLine) => void;
  /** Where to begin: the whole file (default), its end, or the last N accepted records. */
  start?: "beginning" | "end" | { tail: number };
  /** How often to look for new data (default 100 ms). */
  pollMs?: number;
  /** Called with an error that ended the follower (also rejects `done`). */
  onError?: (err: unknown) => void;
}

export interface CriLogFollower {
  /** Reads what was written up to now, then stops; resolves when the last line has been delivered. */
  stop(): Promise<void>;
  /** Settles when the follower has stopped. */
  readonly done: Promise<void>;
}

/**
 * Follows a log file like `tail -f`: delivers complete records as they are written, polling the file. Waits
 * for a file that does not exist yet, and starts over when the file is truncated or replaced (log reopen).
 */
export function followCriLog(path: string, opts: FollowLogOptions): CriLogFollower {
  const pollMs = opts.pollMs ?? 100;
  let stopping = false;
  let wake: (() => void) | undefined;
  const emit = (line: CriLogLine) => {
    if (accepts(opts, line)) opts.onLine(line);
  };

  const run = async () => {
    let fd: fsp.FileHandle | undefined;
    let ino = -1;
    let offset = 0;
    let first = true;
    try {
      for (;;) {
        const finalPass = stopping;
        if (!fd) {
          fd = await openIfExists(path);
          if (fd) {
            const st = await fd.stat();
            ino = st.ino;
            offset = 0;
            const start = first ? (opts.start ?? "beginning") : "beginning";
            if (start === "end") {
              offset = (await readBackward(fd, st.size, 0, opts)).endOffset;
            } else if (typeof start === "object") {
              const { lines, endOffset } = await readBackward(fd, st.size, Math.max(0, start.tail), opts);
              for (const line of lines) opts.onLine(line);
              offset = endOffset;
            }
            first = false;
          }
        }
        if (fd) {
          // Look at the path before the open file: once a new file is there, the writer has left the old
          // one, so reading the old one to its current size loses nothing.
          const current = await fsp.stat(path).catch(() => undefined);
          const replaced = current !== undefined && current.ino !== ino;
          const st = await fd.stat();
          if (st.size < offset) offset = 0; // truncated in place
          offset = await readForward(fd, offset, st.size, emit);
          if (replaced) {
            await fd.close();
            fd = undefined;
            continue;
          }
        }
        if (finalPass) break;
        if (stopping) continue; // stop() came while reading: one more pass, no wait
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      await fd?.close();
    }
  };

  const done = run().catch((err: unknown) => {
    opts.onError?.(err);
    throw err;
  });
  done.catch(() => undefined); // the caller observes errors through onError or `done`
  return {
    done,
    stop() {
      stopping = true;
      wake?.();
      return done;
    },
  };
}
