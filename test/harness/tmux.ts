// Real terminals for interactive tests: each Terminal is a tmux session on a private tmux server (its own socket),
// running one shell command; tests type into it and read its screen.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";

export function tmuxMissingReason(): string | undefined {
  return spawnSync("tmux", ["-V"]).status === 0 ? undefined : "tmux is not installed";
}

let serial = 0;

export class Terminal {
  private constructor(
    private readonly socket: string,
    readonly name: string,
  ) {}

  /** Starts `command` (a shell command line) in a new terminal of the given size. */
  static start(command: string, opts: { columns?: number; rows?: number } = {}): Terminal {
    const socket = `crane-test-${process.pid}-${++serial}`;
    const t = new Terminal(socket, "main");
    t.tmux("new-session", "-d", "-s", t.name, "-x", String(opts.columns ?? 100), "-y", String(opts.rows ?? 30), command);
    return t;
  }

  private tmux(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
  }

  /** The visible screen, trailing blank lines dropped. */
  screen(): string {
    return this.tmux("capture-pane", "-p", "-J", "-t", this.name).replace(/\n+$/, "");
  }

  /** Types text literally (no key names), then Enter unless told not to. */
  type(text: string, enter = true): void {
    this.tmux("send-keys", "-t", this.name, "-l", text);
    if (enter) this.tmux("send-keys", "-t", this.name, "Enter");
  }

  /** Sends tmux key names, e.g. "C-p", "C-q". */
  keys(...names: string[]): void {
    for (const n of names) this.tmux("send-keys", "-t", this.name, n);
  }

  resize(columns: number, rows: number): void {
    this.tmux("resize-window", "-t", this.name, "-x", String(columns), "-y", String(rows));
  }

  /** A tmux format about the pane, e.g. "#{alternate_on}". */
  display(format: string): string {
    return this.tmux("display-message", "-p", "-t", this.name, format).trim();
  }

  /** Waits until the screen matches; fails with the screen as it last was. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const screen = await this.waitUntil(String(pattern), (s) => pattern.test(s), timeoutMs);
    return screen.match(pattern)!;
  }

  /** Waits until `pred` holds for the screen (described as `what` in the failure); returns that screen. */
  async waitUntil(what: string, pred: (screen: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pred(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${what} within ${timeoutMs} ms; screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ends the terminal and its tmux server, and removes the server's socket file. */
  kill(): void {
    const socketPath = spawnSync("tmux", ["-L", this.socket, "display-message", "-p", "#{socket_path}"], { encoding: "utf8" }).stdout.trim();
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
    if (socketPath) fs.rmSync(socketPath, { force: true });
  }
}
