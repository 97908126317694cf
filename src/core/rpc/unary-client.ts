// A gRPC client for unary calls only, on Node's own HTTP/2: the one or two calls a user command makes, without
// grpc-js, whose channel machinery (resolver, load balancer, subchannel pool) costs a CLI 30-40 ms of its start.
// Streams (logs, the live view, terminals) still go through grpc-js, loaded only by the commands that open one.
// The wire format is gRPC's over cleartext HTTP/2: a POST to /<package>.<Service>/<Method>, the message behind a
// 5-byte prefix (compressed flag, length), the status in the grpc-status/grpc-message trailers.
import http2 from "node:http2";
import net from "node:net";
import { GrpcStatus, grpcStatusName, type RpcFailure } from "./status";

export interface UnaryMethod<Req, Res> {
  /** `/crane.grpc.CraneCtld/SubmitBatchJob` */
  path: string;
  encode(request: Req): Uint8Array;
  decode(bytes: Uint8Array): Res;
}

/** A call that failed, with the status ctld sent or the one that stands for a transport failure (as grpc-js). */
export class RpcError extends Error implements RpcFailure {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${grpcStatusName(code)}: ${details}`);
    this.name = "RpcError";
  }
}

/** The largest reply accepted, as grpc.max_receive_message_length of the other clients. */
const MAX_REPLY_BYTES = 256 * 1024 * 1024;

/** The status for a reply that is not HTTP 200, per gRPC's mapping of HTTP statuses. */
function statusOfHttp(httpStatus: number): number {
  if (httpStatus === 400) return GrpcStatus.INTERNAL;
  if (httpStatus === 401) return GrpcStatus.UNAUTHENTICATED;
  if (httpStatus === 403) return GrpcStatus.PERMISSION_DENIED;
  if (httpStatus === 404) return GrpcStatus.UNIMPLEMENTED;
  if ([429, 502, 503, 504].includes(httpStatus)) return GrpcStatus.UNAVAILABLE;
  return GrpcStatus.UNKNOWN;
}

/** grpc-message is percent-encoded UTF-8; a malformed escape is kept as it is. */
function decodeGrpcMessage(text: string): string {
  if (!text.includes("%")) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === "%" ? text.slice(i + 1, i + 3) : "";
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

function headerText(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The gRPC status in a header block (the trailers, or the headers of a trailers-only reply), if it has one. */
function statusIn(headers: http2.IncomingHttpHeaders): RpcError | "ok" | undefined {
  const code = headerText(headers, "grpc-status");
  if (code === undefined) return undefined;
  const n = Number(code);
  if (n === GrpcStatus.OK) return "ok";
  return new RpcError(Number.isInteger(n) ? n : GrpcStatus.UNKNOWN, decodeGrpcMessage(headerText(headers, "grpc-message") ?? ""));
}

/** The one message of a reply body. */
function messageOf(body: Buffer): Uint8Array {
  if (body.length < 5) throw new RpcError(GrpcStatus.INTERNAL, "the reply holds no message");
  if (body[0] !== 0) throw new RpcError(GrpcStatus.INTERNAL, "the reply is compressed, which this client did not ask for");
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) throw new RpcError(GrpcStatus.INTERNAL, `the reply's message is ${body.length - 5} bytes where its prefix says ${length}`);
  return body.subarray(5);
}

export class UnaryClient {
  private session: http2.ClientHttp2Session | undefined;
  private pending = 0;

  private readonly authority: string;

  /**
   * @param host     as a configuration names it: a name, an IPv4 address or an IPv6 one
   * @param metadata headers each call carries (a fresh credential, say), made per call
   */
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly metadata: () => Promise<Record<string, string>> = async () => ({}),
  ) {
    this.authority = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }

  /** One unary call; rejects with an RpcError (UNAVAILABLE when the server cannot be reached). */
  async call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, timeoutMs = 10_000): Promise<Res> {
    const message = method.encode(request);
    const headers = await this.metadata();
    const body = Buffer.allocUnsafe(5 + message.length);
    body[0] = 0;
    body.writeUInt32BE(message.length, 1);
    body.set(message, 5);
    this.pending++;
    const session = this.connect();
    session.ref();
    try {
      return method.decode(await this.exchange(session, method.path, headers, body, timeoutMs));
    } finally {
      // Idle, the connection does not keep the process alive: a command that forgets close() still exits.
      if (--this.pending === 0 && !session.destroyed) session.unref();
    }
  }

  /** Ends the connection; a call still waiting for its reply fails with UNAVAILABLE. */
  close(): void {
    // destroy, not close: nothing is left to wait for, and a graceful GOAWAY costs a command a few ms at exit.
    this.session?.destroy();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    // noDelay: without it Nagle's algorithm holds the request's frames back until the server's delayed ACK (~40 ms).
    const session = http2.connect(this.authority, { createConnection: () => net.connect({ host: this.host, port: this.port, noDelay: true }) });
    // A failure of the connection fails its calls (through their streams); it must not become an uncaught error.
    session.on("error", () => {});
    session.on("close", () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  private exchange(session: http2.ClientHttp2Session, path: string, metadata: Record<string, string>, body: Buffer, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = {
        ...metadata,
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
      };
      if (timeoutMs > 0) headers["grpc-timeout"] = `${Math.max(1, Math.ceil(timeoutMs))}m`;
      let settled = false;
      const finish = (outcome: RpcError | Uint8Array) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (outcome instanceof RpcError) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(outcome);
        } else resolve(outcome);
      };
      const timer =
        timeoutMs > 0 ? setTimeout(() => finish(new RpcError(GrpcStatus.DEADLINE_EXCEEDED, `no reply within ${timeoutMs} ms`)), timeoutMs) : undefined;
      const stream = session.request(headers);
      const chunks: Buffer[] = [];
      let received = 0;
      let status: RpcError | "ok" | undefined;
      stream.on("response", (h) => {
        const http = Number(h[":status"]);
        if (http !== 200) finish(new RpcError(statusOfHttp(http), `HTTP status ${http}`));
        else status = statusIn(h); // a trailers-only reply
      });
      stream.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > 5 + MAX_REPLY_BYTES) finish(new RpcError(GrpcStatus.RESOURCE_EXHAUSTED, `the reply is larger than ${MAX_REPLY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      stream.on("trailers", (h) => {
        status = statusIn(h) ?? status;
      });
      stream.on("error", (e: Error) => finish(new RpcError(GrpcStatus.UNAVAILABLE, e.message)));
      stream.on("close", () => {
        if (status instanceof RpcError) return finish(status);
        if (status === undefined) return finish(new RpcError(GrpcStatus.UNAVAILABLE, "the connection ended before the reply's status"));
        try {
          finish(messageOf(Buffer.concat(chunks)));
        } catch (e) {
          finish(e as RpcError);
        }
      });
      stream.end(body);
    });
  }
}
