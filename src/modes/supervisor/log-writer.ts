// Writes a process step's output in the CRI log format containerd uses for containers
// (`<RFC3339Nano> <stdout|stderr> <P|F> <text>`), so craned serves both kinds of step with one reader.
import fs from "node:fs";
import path from "node:path";

export class CriLogWriter {
  private fd: number;
  private partial: Record<string, Buffer> = {};

  constructor(file: string) {
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
    if (lines.length) fs.writeSync(this.fd, lines.join(""));
  }

  close(): void {
    for (const [stream, buf] of Object.entries(this.partial)) {
      if (buf.length) fs.writeSync(this.fd, `${timestamp()} ${stream} P ${buf.toString("utf8")}\n`);
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
