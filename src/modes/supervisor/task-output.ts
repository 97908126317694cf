// A crun task's stdout and stderr reach the supervisor through named pipes in its step's directory, not through
// pipes of the supervisor's own. The task (and its shim) get each FIFO opened for reading and writing, so the FIFO has
// a reader for as long as the task lives: a supervisor that dies breaks nothing (no SIGPIPE, no EPIPE), the output
// waits in the pipe (a task that fills it blocks) and the next supervisor opens the FIFO again and goes on copying it
// into the step's log. Only what a task writes after its supervisor died and before a new one came is lost if the
// task ends meanwhile: the pipe's contents go with its last holder.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

export type OutputStream = "stdout" | "stderr";

export const OUTPUT_STREAMS: OutputStream[] = ["stdout", "stderr"];

/** Makes the FIFOs (root's, 0600) that do not exist yet: one mkfifo for all of them. */
export function createFifos(files: string[]): void {
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length > 0) execFileSync("/usr/bin/mkfifo", ["-m", "600", "--", ...missing], { env: {}, stdio: "ignore" });
}

/** The task's end of a FIFO: read and write (never blocks to open), so that the FIFO keeps a reader while it runs. */
export function openTaskEnd(file: string): number {
  return fs.openSync(file, fs.constants.O_RDWR);
}

/**
 * Copies what arrives on a FIFO to `onData` until every task end is closed (the task and its shim exited). Opened
 * before the task ends are handed over (or after, when resuming), so it never misses the end.
 */
export function readFifo(file: string, onData: (data: Buffer) => void): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return Promise.resolve(); // gone: the step's directory was removed
  }
  const socket = new net.Socket({ fd, readable: true, writable: false });
  socket.on("data", onData);
  return new Promise((resolve) => {
    socket.on("error", () => undefined);
    socket.on("close", () => resolve());
  });
}
