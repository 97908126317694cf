// The channel protocol client (ccon attach/exec) and craned's stream proxy, against a websocket server standing in
// for the runtime's stream server. The real runtime is exercised by test/integration/interactive.test.ts.
import net from "node:net";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket as ServerSocket } from "ws";
import { connectStream, runSession, type SessionOptions } from "../../src/core/cli/stream-session";
import { channelFrame, exitCodeFromStatus, resizeFrame, StreamChannel } from "../../src/core/cri/streaming";
import { createLogger } from "../../src/core/log";
import { startStreamProxy, type StreamProxy } from "../../src/modes/craned/stream-proxy";

interface FakeRuntime {
  url: (path?: string) => string;
  /** Every frame the client sent, as [channel, ...payload]. */
  received: number[][];
  paths: string[];
  connection: Promise<ServerSocket>;
  close(): Promise<void>;
}

/** A stream server that speaks only the given subprotocol, like containerd 1.6 (v4) or a newer runtime (v5). */
async function fakeRuntime(protocol: string, onFrame?: (frame: Buffer, socket: ServerSocket) => void): Promise<FakeRuntime> {
  const received: number[][] = [];
  const paths: string[] = [];
  let accept!: (s: ServerSocket) => void;
  const connection = new Promise<ServerSocket>((r) => (accept = r));
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (offered) => (offered.has(protocol) ? protocol : false) });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  wss.on("connection", (socket, req) => {
    paths.push(req.url ?? "");
    socket.on("message", (data: Buffer) => {
      received.push([...data]);
      onFrame?.(data, socket);
    });
    accept(socket);
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: (p = "/exec/token1") => `http://127.0.0.1:${port}${p}`,
    received,
    paths,
    connection,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

function terminalOutput(columns = 120, rows = 40) {
  return Object.assign(new PassThrough(), { isTTY: true, columns, rows });
}

function options(over: Partial<SessionOptions> = {}): SessionOptions & { input: PassThrough; output: PassThrough } {
  const input = new PassThrough();
  const output = new PassThrough();
  return { stdin: true, tty: false, detachable: false, input, output, errorOutput: new PassThrough(), ...over } as SessionOptions & {
    input: PassThrough;
    output: PassThrough;
  };
}

function collect(stream: PassThrough): () => string {
  let text = "";
  stream.on("data", (d: Buffer) => (text += d.toString()));
  return () => text;
}

const echoStdin = (frame: Buffer, socket: ServerSocket) => {
  if (frame[0] === StreamChannel.Stdin) socket.send(channelFrame(StreamChannel.Stdout, frame.subarray(1)));
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("channel frames", () => {
  it("prefix the channel byte", () => {
    expect([...channelFrame(StreamChannel.Stdin, "ab")]).toEqual([0, 0x61, 0x62]);
    expect([...channelFrame(StreamChannel.Close, Uint8Array.of(0))]).toEqual([255, 0]);
    expect(JSON.parse(resizeFrame(80, 24).subarray(1).toString())).toEqual({ Width: 80, Height: 24 });
    expect(resizeFrame(80, 24)[0]).toBe(4);
  });

  it("exit codes come from the status channel", () => {
    expect(exitCodeFromStatus('{"status":"Success"}')).toBe(0);
    expect(exitCodeFromStatus('{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}}')).toBe(7);
    expect(exitCodeFromStatus('{"status":"Failure","reason":"InternalError","message":"exec failed"}')).toBeUndefined();
    expect(exitCodeFromStatus("not json")).toBeUndefined();
  });
});

describe("runSession", () => {
  it("v4: sends stdin, prints stdout, and ends the session once the output is quiet after the input ended", async () => {
    const rt = await fakeRuntime("v4.channel.k8s.io", echoStdin);
    cleanup.push(rt.close);
    const ws = await connectStream(rt.url());
    expect(ws.protocol).toBe("v4.channel.k8s.io");
    const o = options();
    const out = collect(o.output);
    const session = runSession(ws, o);
    o.input.end("hello\n");
    expect(await session).toEqual({ detached: false });
    expect(out()).toBe("hello\n");
    expect(rt.received).toEqual([[0, ...Buffer.from("hello\n")]]);
  });

  it("v5: half-closes stdin and takes the exit code from the status channel", async () => {
    const rt = await fakeRuntime("v5.channel.k8s.io", (frame, socket) => {
      if (frame[0] === StreamChannel.Close) {
        socket.send(channelFrame(StreamChannel.Stderr, "bye\n"));
        socket.send(
          channelFrame(
            StreamChannel.Status,
            JSON.stringify({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "7" }] } }),
          ),
        );
        socket.close();
      }
    });
    cleanup.push(rt.close);
    const o = options();
    const err = collect(o.errorOutput as PassThrough);
    const session = runSession(await connectStream(rt.url()), o);
    o.input.end("x");
    expect(await session).toEqual({ detached: false, exitCode: 7 });
    expect(rt.received).toEqual([
      [0, 0x78],
      [255, 0],
    ]);
    expect(err()).toBe("bye\n");
  });

  it("tty: raw mode while it runs, the window size at start and on resize, Ctrl-D for the end of input, raw mode restored", async () => {
    const rt = await fakeRuntime("v4.channel.k8s.io");
    cleanup.push(rt.close);
    const rawCalls: boolean[] = [];
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (r: boolean) => rawCalls.push(r) });
    const output = terminalOutput(120, 40);
    const o = options({ tty: true, input, output });
    const session = runSession(await connectStream(rt.url()), o);
    const server = await rt.connection;
    expect(rawCalls).toEqual([true]);
    output.columns = 90;
    output.rows = 30;
    output.emit("resize");
    input.end();
    await new Promise((r) => setTimeout(r, 100));
    server.close();
    await session;
    expect(rawCalls).toEqual([true, false]);
    const resizes = rt.received.filter((f) => f[0] === 4).map((f) => JSON.parse(Buffer.from(f.slice(1)).toString()));
    expect(resizes).toEqual([
      { Width: 120, Height: 40 },
      { Width: 90, Height: 30 },
    ]);
    expect(rt.received.filter((f) => f[0] === 0)).toEqual([[0, 0x04]]);
  });

  it("Ctrl-P Ctrl-Q detaches: nothing after it is sent and the terminal is restored", async () => {
    const rt = await fakeRuntime("v4.channel.k8s.io");
    cleanup.push(rt.close);
    const rawCalls: boolean[] = [];
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (r: boolean) => rawCalls.push(r) });
    const o = options({ tty: true, detachable: true, input, output: terminalOutput() });
    const session = runSession(await connectStream(rt.url()), o);
    await rt.connection;
    input.write(Buffer.from([0x61, 0x10, 0x11, 0x62]));
    expect(await session).toEqual({ detached: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(rt.received.filter((f) => f[0] === 0)).toEqual([[0, 0x61]]);
    expect(rawCalls).toEqual([true, false]);
  });

  it("a runtime failure on the status channel is reported", async () => {
    const rt = await fakeRuntime("v4.channel.k8s.io");
    cleanup.push(rt.close);
    const session = runSession(await connectStream(rt.url()), options({ stdin: false }));
    const server = await rt.connection;
    server.send(channelFrame(StreamChannel.Status, JSON.stringify({ status: "Failure", reason: "InternalError", message: "exec failed: no such file" })));
    server.close();
    expect(await session).toEqual({ detached: false, failure: "exec failed: no such file" });
  });
});

describe("craned's stream proxy", () => {
  async function proxyTo(): Promise<{ rt: FakeRuntime; proxy: StreamProxy }> {
    const rt = await fakeRuntime("v4.channel.k8s.io", echoStdin);
    const proxy = await startStreamProxy({ listenAddr: "127.0.0.1", port: 0, publicHost: "127.0.0.1", log: createLogger("test") });
    cleanup.push(rt.close, proxy.close);
    return { rt, proxy };
  }

  it("opens the runtime URL of a ticket and passes frames both ways", async () => {
    const { rt, proxy } = await proxyTo();
    const url = proxy.issue({ url: rt.url("/attach/abc?x=1") });
    expect(url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${proxy.port}/stream/[A-Za-z0-9_-]{43}$`));
    const ws = await connectStream(url);
    expect(ws.protocol).toBe("v4.channel.k8s.io");
    expect(rt.paths).toEqual(["/attach/abc?x=1"]);
    const o = options();
    const out = collect(o.output);
    const session = runSession(ws, o);
    o.input.end("through the proxy");
    await session;
    expect(out()).toBe("through the proxy");
  });

  it("a ticket opens one session only; unknown tickets are refused", async () => {
    const { rt, proxy } = await proxyTo();
    const url = proxy.issue({ url: rt.url() });
    (await connectStream(url)).close();
    await expect(connectStream(url)).rejects.toThrow(/404.*unknown or expired stream ticket/);
    await expect(connectStream(url.replace(/[^/]+$/, "forged"))).rejects.toThrow(/404/);
    expect(rt.paths).toHaveLength(1);
  });

  it("survives clients that hang up halfway, and keeps serving", async () => {
    const { rt, proxy } = await proxyTo();
    for (const ticketUrl of [proxy.issue({ url: rt.url() }), proxy.issue({ url: rt.url() }), "ws://x/stream/unknown"]) {
      const socket = net.connect(proxy.port, "127.0.0.1");
      await new Promise<void>((r) => socket.once("connect", () => r()));
      socket.write(`GET ${new URL(ticketUrl).pathname} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
      socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    const o = options();
    const out = collect(o.output);
    const session = runSession(await connectStream(proxy.issue({ url: rt.url() })), o);
    o.input.end("still here");
    await session;
    expect(out()).toBe("still here");
  });

  it("a runtime that does not answer is reported to the client", async () => {
    const { rt, proxy } = await proxyTo();
    const deadUrl = rt.url();
    await rt.close();
    await expect(connectStream(proxy.issue({ url: deadUrl }))).rejects.toThrow(/502.*did not answer/);
  });
});
