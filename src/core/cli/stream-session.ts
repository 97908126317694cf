// The client side of an attach/exec session: the Kubernetes websocket channel protocol (v5 offered, v4 accepted)
// spoken through the URL ctld hands back (craned's stream proxy on the container's node).
import WebSocket from "ws";
import { STREAM_PROTOCOLS, StreamChannel, channelFrame, exitCodeFromStatus, resizeFrame } from "../cri/streaming";
import { DetachFilter } from "./detach";

const QUIET_BEFORE_CLOSE_MS = 300;
const MAX_WAIT_BEFORE_CLOSE_MS = 5000;

export interface SessionOptions {
  /** Send what is read from `input` to the container. */
  stdin: boolean;
  /** The container side is a terminal: raw mode here, window size sent, stderr merged into stdout. */
  tty: boolean;
  /** Ctrl-P Ctrl-Q ends the session (see shouldEnableDetach). */
  detachable: boolean;
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  errorOutput: NodeJS.WritableStream;
}

export type SessionEnd =
  | { detached: true }
  /** exitCode: from the runtime's status message (exec), absent when it sent none (attach). */
  | { detached: false; exitCode?: number; failure?: string };

/** Opens the websocket; rejects with the server's answer when it refuses (expired ticket, step gone, ...). */
export function connectStream(url: string, timeoutMs = 10_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [...STREAM_PROTOCOLS], { handshakeTimeout: timeoutMs, perMessageDeflate: false });
    ws.binaryType = "nodebuffer";
    ws.once("open", () => resolve(ws));
    ws.once("error", (e) => reject(e));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        reject(new Error(`${res.statusCode} ${res.statusMessage}${body.trim() ? `: ${body.trim()}` : ""}`));
        ws.terminate();
      });
    });
  });
}

/**
 * Runs a session on an open websocket until the remote side ends it, the user detaches or the connection breaks.
 * The terminal is put in raw mode for a tty session and restored on every way out (see TerminalMode).
 */
export function runSession(ws: WebSocket, opts: SessionOptions): Promise<SessionEnd> {
  const v5 = ws.protocol === STREAM_PROTOCOLS[0];
  const terminal = new TerminalMode(opts.input);
  if (opts.tty) terminal.enterRaw();
  const filter = opts.detachable ? new DetachFilter() : undefined;
  let status: string | undefined;

  return new Promise<SessionEnd>((resolve) => {
    let settled = false;
    const cleanups: (() => void)[] = [];
    const finish = (end: SessionEnd) => {
      if (settled) return;
      settled = true;
      for (const c of cleanups) c();
      terminal.restore();
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      resolve(end);
    };
    const send = (frame: Buffer) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    };

    let lastOutput = Date.now();
    const closeWhenQuiet = (since = Date.now()) => {
      const quiet = Date.now() - lastOutput >= QUIET_BEFORE_CLOSE_MS;
      if (quiet || Date.now() - since > MAX_WAIT_BEFORE_CLOSE_MS) ws.close();
      else setTimeout(() => closeWhenQuiet(since), 50).unref();
    };
    ws.on("message", (data: Buffer) => {
      if (data.length === 0) return;
      lastOutput = Date.now();
      const payload = data.subarray(1);
      switch (data[0]) {
        case StreamChannel.Stdout:
          opts.output.write(payload);
          break;
        case StreamChannel.Stderr:
          opts.errorOutput.write(payload);
          break;
        case StreamChannel.Status:
          status = (status ?? "") + payload.toString("utf8");
          break;
      }
    });
    ws.on("close", () => {
      if (status === undefined) return finish({ detached: false });
      const exitCode = exitCodeFromStatus(status);
      finish(exitCode === undefined ? { detached: false, failure: statusMessage(status) } : { detached: false, exitCode });
    });
    ws.on("error", (e) => finish({ detached: false, failure: `connection lost: ${e.message}` }));

    const ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.ping(), 5000);
    cleanups.push(() => clearInterval(ping));

    if (opts.tty && opts.output.isTTY) {
      const sendSize = () => send(resizeFrame(opts.output.columns ?? 80, opts.output.rows ?? 24));
      sendSize();
      opts.output.on("resize", sendSize);
      cleanups.push(() => opts.output.off("resize", sendSize));
    }

    if (opts.stdin) {
      const onData = (chunk: Buffer | string) => {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        if (!filter) return send(channelFrame(StreamChannel.Stdin, bytes));
        const { data, detach } = filter.push(bytes);
        if (data.length) send(channelFrame(StreamChannel.Stdin, data));
        if (detach) finish({ detached: true });
      };
      const onEnd = () => {
        const held = filter?.end();
        if (held?.length) send(channelFrame(StreamChannel.Stdin, held));
        if (v5) send(channelFrame(StreamChannel.Close, Uint8Array.of(StreamChannel.Stdin)));
        // v4 cannot half-close stdin: a terminal understands Ctrl-D; otherwise only ending the session closes it,
        // which is done once the output has been quiet for a moment, so that the answer to the last input shows.
        else if (opts.tty) send(channelFrame(StreamChannel.Stdin, Uint8Array.of(0x04)));
        else closeWhenQuiet();
      };
      opts.input.on("data", onData);
      opts.input.once("end", onEnd);
      opts.input.resume();
      cleanups.push(() => {
        opts.input.off("data", onData);
        opts.input.off("end", onEnd);
        opts.input.pause();
      });
    }
  });
}

function statusMessage(json: string): string {
  try {
    const s = JSON.parse(json) as { message?: string; reason?: string };
    return s.message || s.reason || json;
  } catch {
    return json;
  }
}

/**
 * Raw mode for the local terminal during a tty session, undone on every exit path: normal end, errors
 * (restore() in finally blocks), signals and process.exit (the exit hook).
 */
export class TerminalMode {
  private raw = false;
  private readonly onExit = () => this.restore();

  constructor(private readonly input: SessionOptions["input"]) {}

  enterRaw(): void {
    if (this.raw || !this.input.isTTY || !this.input.setRawMode) return;
    this.input.setRawMode(true);
    this.raw = true;
    process.once("exit", this.onExit);
  }

  restore(): void {
    if (!this.raw) return;
    this.raw = false;
    process.off("exit", this.onExit);
    try {
      this.input.setRawMode?.(false);
    } catch {
      // the terminal is gone (hangup): nothing to restore
    }
  }
}
