// `crane supervisor --standby`: a supervisor booted ahead of need by craned (see craned/launcher.ts). It waits for
// one JSON line on stdin naming its step's spec and log file, sends its own output there, then runs the step
// like any supervisor. Stdin closing first means craned went away or has no use for it: it exits.
import fs from "node:fs";
import { connectCri, type CriClient } from "../../core/cri";
import type { StandbyHandoff } from "../craned/launcher";

let warm: CriClient | undefined;

/**
 * Connects to the container runtime ahead of need. grpc-js shares connections between channels to the same
 * target, so the step's own CRI client later finds this one ready. Best effort: a runtime that is down now is
 * reported by the step itself.
 */
export function connectRuntimeAhead(runtimeEndpoint: string): void {
  warm = connectCri({ runtimeEndpoint, timeoutMs: 5_000 });
  warm.version().catch(() => undefined);
}

/** The handoff from craned, or undefined when stdin closed without one. */
export function awaitHandoff(input: NodeJS.ReadableStream = process.stdin): Promise<StandbyHandoff | undefined> {
  return new Promise((resolve) => {
    let buf = "";
    const finish = (v: StandbyHandoff | undefined) => {
      input.removeAllListeners("data");
      input.pause();
      (input as NodeJS.ReadStream).destroy?.();
      resolve(v);
    };
    input.setEncoding("utf8");
    input.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      try {
        const h = JSON.parse(buf.slice(0, nl)) as StandbyHandoff;
        finish(typeof h.spec === "string" && typeof h.log === "string" ? h : undefined);
      } catch {
        finish(undefined);
      }
    });
    input.on("end", () => finish(undefined));
    input.on("error", () => finish(undefined));
  });
}

/** From now on this process's stdout and stderr writes go to `file` (appended). */
export function redirectOutput(file: string): void {
  const fd = fs.openSync(file, "a");
  const write = (chunk: string | Uint8Array, encoding?: unknown, cb?: unknown): boolean => {
    try {
      if (typeof chunk === "string") fs.writeSync(fd, chunk);
      else fs.writeSync(fd, chunk);
    } catch {
      // the log is best effort
    }
    const done = typeof encoding === "function" ? encoding : cb;
    if (typeof done === "function") (done as () => void)();
    return true;
  };
  process.stdout.write = write as typeof process.stdout.write;
  process.stderr.write = write as typeof process.stderr.write;
}
