// Writes a process step's output in the CRI log format containerd uses for containers
// (`<RFC3339Nano> <stdout|stderr> <P|F> <text>`), so craned serves both kinds of step with one reader.
import fs from "node:fs";
import path from "node:path";

export class CriLogWriter {
  private fd: number;
  private partial: Record<string, Buffer> = {};
  /** Set while writes fail (a full disk): output is dropped then, the task runs on. */
  private failing: string | undefined;

  constructor(
    file: string,
    private readonly onTrouble: (message: string) => void = () => {},
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, "a", 0o640);
  }

  write(stream: "stdout" | "stderr", data: Buffer): void {
    let buf = this.partial[stream] ? Buffer.concat([this.partial[stream]!, data]) : data;
    let nl: number;
    const lines: string[] = [];
    while ((nl = buf.indexOf(10)) >= 0) {
      lines.push(`${timestamp()} ${stream} F ${buf.subarray(0, nl).toString("utf8")}\n`);
      buf = buf.subarray(nl + 1);
    }
    // Long lines without a newline are flushed as partial records, like the runtime does.
    if (buf.length >= 16 * 1024) {
      lines.push(`${timestamp()} ${stream} P ${buf.toString("utf8")}\n`);
      buf = Buffer.alloc(0);
    }
    this.partial[stream] = buf;
    if (lines.length) this.append(lines.join(""));
  }

  private append(text: string): void {
    try {
      fs.writeSync(this.fd, text);
      if (this.failing) this.onTrouble(`writing the log works again after ${this.failing}`);
      this.failing = undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      if (this.failing !== code) this.onTrouble(`cannot write the log (${code}): output is dropped until it can`);
      this.failing = code;
    }
  }

  close(): void {
    for (const [stream, buf] of Object.entries(this.partial)) {
      if (buf.length) this.append(`${timestamp()} ${stream} P ${buf.toString("utf8")}\n`);
    }
    this.partial = {};
    fs.closeSync(this.fd);
  }
}

function timestamp(): string {
  const now = new Date();
  const ns = String(process.hrtime.bigint() % 1_000_000n).padStart(6, "0");
  return now.toISOString().replace(/\.(\d{3})Z$/, `.$1${ns}Z`);
}
