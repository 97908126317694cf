// Writes a process step's output in the CRI log format containerd uses for containers
// (`<RFC3339Nano> <stdout|stderr> <P|F> <text>`), so craned serves both kinds of step with one reader. The data is
// copied as bytes, never decoded. With a cap (Craned.LogMaxSize), a file that reached it is rotated
// (core/node/log-files.ts) between two records and the writing goes on in a new file.
import fs from "node:fs";
import path from "node:path";
import { type LogLimits, rotateLogFiles } from "../../core/node/log-files";

/** A line longer than this without its newline is written as a partial ("P") record, as the runtime does. */
const PARTIAL_FLUSH_BYTES = 16 * 1024;
const NEWLINE = 0x0a;

type Stream = "stdout" | "stderr";

export class CriLogWriter {
  private fd: number;
  /** Bytes in the current file. */
  private size: number;
  private partial: Partial<Record<Stream, Buffer>> = {};
  /** Set while writes fail (a full disk): output is dropped then, the task runs on. */
  private failing: string | undefined;

  constructor(
    private readonly file: string,
    private readonly onTrouble: (message: string) => void = () => {},
    private readonly limits: LogLimits = { maxBytes: 0, maxFiles: 0 },
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, "a", 0o640);
    this.size = fs.fstatSync(this.fd).size;
  }

  write(stream: Stream, data: Buffer): void {
    const held = this.partial[stream];
    const buf = held ? Buffer.concat([held, data]) : data;
    // One time for the lines of one read: they arrived together.
    const time = timestamp();
    const records: LogRecord[] = [];
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
      records.push({ head: `${time} ${stream} F `, data: buf.subarray(start, nl) });
      start = nl + 1;
    }
    let rest = buf.subarray(start);
    if (rest.length >= PARTIAL_FLUSH_BYTES) {
      records.push({ head: `${time} ${stream} P `, data: rest });
      rest = rest.subarray(rest.length);
    }
    // Held apart from `data`, whose buffer the caller may reuse.
    this.partial[stream] = rest.length ? Buffer.from(rest) : undefined;
    this.append(records);
  }

  /** Writes whole records, rotating first when the next one would take the file over the cap. */
  private append(records: LogRecord[]): void {
    const { maxBytes } = this.limits;
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const len = recordBytes(records[i]!);
      if (maxBytes > 0 && this.size + bytes + len > maxBytes && this.size + bytes > 0) {
        this.writeRecords(records.slice(from, i), bytes);
        this.rotate();
        from = i;
        bytes = 0;
      }
      bytes += len;
    }
    this.writeRecords(records.slice(from), bytes);
  }

  /** One write of the records, encoded into one buffer of `bytes`. */
  private writeRecords(records: LogRecord[], bytes: number): void {
    if (records.length === 0) return;
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const { head, data } of records) {
      at += out.write(head, at, "latin1");
      at += data.copy(out, at);
      out[at++] = NEWLINE;
    }
    try {
      fs.writeSync(this.fd, out);
      this.size += bytes;
      if (this.failing) this.onTrouble(`writing the log works again after ${this.failing}`);
      this.failing = undefined;
    } catch (e) {
      this.trouble(e, "cannot write the log");
    }
  }

  private rotate(): void {
    try {
      rotateLogFiles(this.file, this.limits.maxFiles);
      const fd = fs.openSync(this.file, "a", 0o640);
      fs.closeSync(this.fd);
      this.fd = fd;
      this.size = 0;
    } catch (e) {
      this.trouble(e, "cannot rotate the log");
    }
  }

  private trouble(e: unknown, what: string): void {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    if (this.failing !== code) this.onTrouble(`${what} (${code}): output is dropped until it can`);
    this.failing = code;
  }

  close(): void {
    const time = timestamp();
    const rest = (Object.entries(this.partial) as [Stream, Buffer | undefined][]).filter(([, buf]) => buf?.length);
    this.append(rest.map(([stream, buf]) => ({ head: `${time} ${stream} P `, data: buf! })));
    this.partial = {};
    fs.closeSync(this.fd);
  }
}

/** A record to write: its header (time, stream, tag: ASCII) and its data, without the newline. */
interface LogRecord {
  head: string;
  data: Buffer;
}

function recordBytes(r: LogRecord): number {
  return r.head.length + r.data.length + 1;
}

function timestamp(): string {
  const now = new Date();
  const ns = String(process.hrtime.bigint() % 1_000_000n).padStart(6, "0");
  return now.toISOString().replace(/\.(\d{3})Z$/, `.$1${ns}Z`);
}
