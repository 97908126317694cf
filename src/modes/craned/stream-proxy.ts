// craned's stream proxy: how an attach/exec session from any node reaches the container runtime's stream server,
// which listens on this node's loopback only.
//
// ctld checks who asks (owner or admin) and that the step runs here, then asks this craned for a session. craned
// obtains the runtime's single-use URL through CRI and hands back its own URL instead: a random 256-bit ticket that
// opens exactly that runtime URL, once, within TICKET_TTL_MS. The proxy forwards the websocket upgrade and then
// copies bytes both ways without reading them, so any channel protocol version the runtime speaks passes through.
// Nothing else is reachable through it: a request without a live ticket is refused. A crun --pty step's terminal is
// reached the same way, its ticket opening the node supervisor's root-only stream socket instead of the runtime.
import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../../core/log";

const TICKET_TTL_MS = 30_000;

/** Where a ticket leads: the runtime's URL, or a path on a local unix socket. */
export type StreamTarget = { url: string } | { socketPath: string; path: string };

interface Upstream {
  connect(): net.Socket;
  /** The Host header and request path sent upstream. */
  host: string;
  path: string;
}

export interface StreamProxy {
  /** The proxy URL that opens `target` once. */
  issue(target: StreamTarget): string;
  port: number;
  close(): Promise<void>;
}

export async function startStreamProxy(opts: { listenAddr: string; port: number; publicHost: string; log: Logger }): Promise<StreamProxy> {
  const tickets = new Map<string, { target: Upstream; expires: number }>();
  const server = http.createServer((_req, res) => {
    res.writeHead(400, { "Content-Type": "text/plain" }).end("crane stream proxy: only websocket upgrades with a ticket are served\n");
  });
  server.on("upgrade", (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    // A client that goes away at any point must not take craned down with an unhandled socket error.
    client.on("error", () => client.destroy());
    const token = /^\/stream\/([A-Za-z0-9_-]+)$/.exec(req.url ?? "")?.[1];
    const ticket = token ? tickets.get(token) : undefined;
    if (token) tickets.delete(token);
    if (!ticket || ticket.expires < Date.now()) {
      refuse(client, 404, "unknown or expired stream ticket: ask for a new session (ccon attach / ccon exec)");
      return;
    }
    forward(req, client, head, ticket.target, opts.log);
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.listenAddr, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const host = opts.publicHost.includes(":") ? `[${opts.publicHost}]` : opts.publicHost;
  return {
    port,
    issue(target: StreamTarget): string {
      const now = Date.now();
      for (const [t, v] of tickets) if (v.expires < now) tickets.delete(t);
      const token = crypto.randomBytes(32).toString("base64url");
      tickets.set(token, { target: upstream(target), expires: now + TICKET_TTL_MS });
      return `ws://${host}:${port}/stream/${token}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function upstream(target: StreamTarget): Upstream {
  if ("socketPath" in target) return { connect: () => net.connect(target.socketPath), host: "localhost", path: target.path };
  const url = new URL(target.url);
  return { connect: () => net.connect(Number(url.port) || 80, url.hostname), host: url.host, path: `${url.pathname}${url.search}` };
}

/** Replays the upgrade request to the ticket's target, then splices the two connections together. */
function forward(req: http.IncomingMessage, client: Duplex, head: Buffer, target: Upstream, log: Logger): void {
  const upstream = target.connect();
  const fail = (e: Error) => {
    log.warn(`stream to ${target.host} failed: ${e.message}`);
    refuse(client, 502, `the stream's server on the node did not answer: ${e.message}`);
    upstream.destroy();
  };
  upstream.once("error", fail);
  upstream.once("connect", () => {
    upstream.off("error", fail);
    const lines = [`${req.method} ${target.path} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      lines.push(`${name}: ${name.toLowerCase() === "host" ? target.host : req.rawHeaders[i + 1]}`);
    }
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length) upstream.write(head);
    upstream.setNoDelay(true);
    if (client instanceof net.Socket) client.setNoDelay(true);
    upstream.pipe(client).pipe(upstream);
    const end = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on("error", end).on("close", end);
    client.on("error", end).on("close", end);
  });
}

function refuse(client: Duplex, code: number, message: string): void {
  if (client.destroyed) return;
  client.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`,
  );
}
