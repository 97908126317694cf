// crun --pty: task 0 of the step runs under util-linux's `script`, which makes a pseudo-terminal, runs the command
// with it as its controlling terminal and copies between the terminal and script's own stdin and stdout. script runs
// as the user (it is the task), so the terminal is the user's and root never opens it. Its stdin is a FIFO in the
// step's directory (held by the shim like the output FIFOs, task-output.ts), its stdout the task's stdout FIFO.
//
// The supervisor serves attach sessions to that terminal on its root-only stream socket, which craned's stream proxy
// reaches with a ticket ctld asked for (owner or admin only). A session speaks the Kubernetes channel protocol of a
// container's attach, so the CLI's session code is the same: stdin frames go into the FIFO, resize frames set the
// terminal's size (stty, run as the user), and what the terminal writes goes to every session as well as to the
// step's log. What it wrote before the first session came is kept (up to EARLY_OUTPUT_BYTES) and sent to it.
// When the last session goes while the task runs, the terminal is hung up (`hangUp`), as closing a terminal window does.
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { STREAM_PROTOCOLS, StreamChannel, channelFrame } from "../../core/cri/streaming";

const SCRIPT = "/usr/bin/script";
const SETPRIV = "/usr/bin/setpriv";
const STTY = "/usr/bin/stty";
const EARLY_OUTPUT_BYTES = 1 << 20;
const EOF_CHAR = 0x04;

/** The command that runs `argv` in a new pseudo-terminal (script runs it with the user's $SHELL -c). */
export function ptyArgv(argv: string[]): string[] {
  const quote = (w: string) => `'${w.replaceAll("'", `'\\''`)}'`;
  // -e: script exits with the command's status; -f: output is flushed as it comes; -q: no banner.
  return [SCRIPT, "-q", "-e", "-f", "-c", `exec ${argv.map(quote).join(" ")}`, "/dev/null"];
}

export class PtyTerminal {
  private readonly sessions = new Set<WebSocket>();
  private early: Buffer[] | undefined = [];
  private earlyBytes = 0;
  private input: net.Socket | undefined;
  private ttyPath: string | undefined;
  private ended = false;

  constructor(
    private readonly stdinFifo: string,
    private readonly taskPidFile: string,
    private readonly user: { uid: number; gid: number },
    private readonly hangUp: () => void,
  ) {}

  /** What the terminal wrote (script's stdout). */
  output(data: Buffer): void {
    if (this.early) {
      this.early.push(data);
      this.earlyBytes += data.length;
      while (this.earlyBytes > EARLY_OUTPUT_BYTES && this.early.length > 1) this.earlyBytes -= this.early.shift()!.length;
    }
    for (const ws of this.sessions) ws.send(channelFrame(StreamChannel.Stdout, data));
  }

  attach(ws: WebSocket): void {
    if (this.ended) return void ws.close(1000);
    this.sessions.add(ws);
    for (const data of this.early ?? []) ws.send(channelFrame(StreamChannel.Stdout, data));
    this.early = undefined;
    ws.on("message", (frame: Buffer) => {
      const payload = frame.subarray(1);
      if (frame[0] === StreamChannel.Stdin) this.write(payload);
      else if (frame[0] === StreamChannel.Resize) this.resize(payload.toString("utf8"));
      else if (frame[0] === StreamChannel.Close && payload[0] === StreamChannel.Stdin) this.write(Uint8Array.of(EOF_CHAR));
    });
    ws.on("error", () => ws.terminate());
    ws.on("close", () => {
      this.sessions.delete(ws);
      if (this.sessions.size === 0 && !this.ended) this.hangUp();
    });
  }

  /** The task ended with `exitCode`: every session gets its status and is closed. */
  end(exitCode: number): void {
    this.ended = true;
    const status =
      exitCode === 0
        ? { metadata: {}, status: "Success" }
        : { metadata: {}, status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] } };
    for (const ws of this.sessions) {
      ws.send(channelFrame(StreamChannel.Status, JSON.stringify(status)));
      ws.close(1000);
    }
    this.input?.destroy();
  }

  private write(data: Uint8Array): void {
    if (this.ended || data.length === 0) return;
    if (!this.input) {
      let fd: number;
      try {
        // The task holds the FIFO open for reading as long as it lives, so this open does not block.
        fd = fs.openSync(this.stdinFifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      } catch {
        return; // the task and its FIFO are gone
      }
      this.input = new net.Socket({ fd, readable: false, writable: true });
      this.input.on("error", () => undefined);
    }
    this.input.write(data);
  }

  private resize(json: string): void {
    let size: { Width?: unknown; Height?: unknown };
    try {
      size = JSON.parse(json) as typeof size;
    } catch {
      return;
    }
    const cols = Number(size.Width);
    const rows = Number(size.Height);
    if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1 || cols > 10_000 || rows > 10_000) return;
    const tty = (this.ttyPath ??= this.findTerminal());
    if (!tty) return;
    const { uid, gid } = this.user;
    // As the user: stty opens the terminal with the user's rights, whatever the path turned out to be.
    const args = [`--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "--", STTY, "-F", tty, "rows", String(rows), "cols", String(cols)];
    execFile(SETPRIV, args, { env: {}, timeout: 5000 }, () => undefined);
  }

  /** The terminal script made: the controlling terminal of script's child, as a /dev/pts path. */
  private findTerminal(): string | undefined {
    try {
      const scriptPid = Number(fs.readFileSync(this.taskPidFile, "utf8").trim());
      const child = fs.readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, "utf8").trim().split(/\s+/)[0];
      const stat = fs.readFileSync(`/proc/${Number(child)}/stat`, "utf8");
      const ttyNr = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[4]); // field 7, after state ppid pgrp session
      if (!ttyNr) return undefined;
      const name = fs.readdirSync("/dev/pts").find((n) => /^\d+$/.test(n) && fs.statSync(`/dev/pts/${n}`).rdev === ttyNr);
      return name && `/dev/pts/${name}`;
    } catch {
      return undefined; // not started yet, or already gone: the next resize tries again
    }
  }
}

/** The supervisor's websocket server for pty sessions, on a unix socket that only root can reach. */
export async function startPtyServer(socketPath: string, terminalOf: (jobId: number, stepId: number) => PtyTerminal | undefined): Promise<http.Server> {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => STREAM_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  const server = http.createServer((_req, res) => res.writeHead(400).end());
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const m = /^\/pty\/(\d+)\.(\d+)$/.exec(req.url ?? "");
    const terminal = m ? terminalOf(Number(m[1]), Number(m[2])) : undefined;
    if (!terminal) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 38\r\n\r\nthe step has no terminal on this node\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => terminal.attach(ws));
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
  return server;
}
