// A gRPC client for unary calls only, on crane's own small HTTP/2 client (h2/): the one or two calls a user command
// makes, without grpc-js, whose channel machinery costs a CLI 30-40 ms of its start, nor node:http2, which costs
// about as much again.
// Streams (logs, the live view, terminals) still go through grpc-js, loaded only by the commands that open one.
// The wire format is gRPC's over cleartext HTTP/2: a POST to /<package>.<Service>/<Method>, the message behind a
// 5-byte prefix (compressed flag, length), the status in the grpc-status/grpc-message trailers.
import { CANCEL, H2Connection, H2Failure, type H2Reply } from "./h2/connection";
import type { HeaderList } from "./h2/hpack";
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

function headerText(headers: HeaderList, name: string): string | undefined {
  return headers.find(([n]) => n === name)?.[1];
}

/** The gRPC status in a header block (the trailers, or the headers of a trailers-only reply), if it has one. */
function statusIn(headers: HeaderList): RpcError | "ok" | undefined {
  const code = headerText(headers, "grpc-status");
  if (code === undefined) return undefined;
  const n = Number(code);
  if (n === GrpcStatus.OK) return "ok";
  return new RpcError(Number.isInteger(n) ? n : GrpcStatus.UNKNOWN, decodeGrpcMessage(headerText(headers, "grpc-message") ?? ""));
}

/** The status of a stream the server reset, as grpc-js maps HTTP/2 error codes. */
function statusOfReset(code: number): number {
  if (code === 0x7) return GrpcStatus.UNAVAILABLE; // REFUSED_STREAM: not processed, safe to retry
  if (code === CANCEL) return GrpcStatus.CANCELLED;
  if (code === 0xb) return GrpcStatus.RESOURCE_EXHAUSTED; // ENHANCE_YOUR_CALM
  if (code === 0xc) return GrpcStatus.PERMISSION_DENIED; // INADEQUATE_SECURITY
  return GrpcStatus.INTERNAL;
}

/** The reply's message, or the status that stands instead of one. */
function outcomeOf(reply: H2Reply): Uint8Array {
  const http = Number(headerText(reply.headers, ":status"));
  if (http !== 200) throw new RpcError(statusOfHttp(http), `HTTP status ${http}`);
  const status = statusIn(reply.trailers) ?? statusIn(reply.headers);
  if (status instanceof RpcError) throw status;
  if (status === undefined) throw new RpcError(GrpcStatus.UNAVAILABLE, "the connection ended before the reply's status");
  return messageOf(reply.body);
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
  private connection: H2Connection | undefined;
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
    this.authority = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  }

  /** One unary call; rejects with an RpcError (UNAVAILABLE when the server cannot be reached). */
  async call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, timeoutMs = 10_000): Promise<Res> {
    const message = method.encode(request);
    const metadata = await this.metadata();
    const body = Buffer.allocUnsafe(5 + message.length);
    body[0] = 0;
    body.writeUInt32BE(message.length, 1);
    body.set(message, 5);
    const headers: HeaderList = [
      [":method", "POST"],
      [":scheme", "http"],
      [":path", method.path],
      [":authority", this.authority],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ];
    if (timeoutMs > 0) headers.push(["grpc-timeout", `${Math.max(1, Math.ceil(timeoutMs))}m`]);
    for (const [name, value] of Object.entries(metadata)) headers.push([name.toLowerCase(), value]);
    this.pending++;
    const connection = this.connect();
    connection.ref();
    try {
      return method.decode(await this.exchange(connection, headers, body, timeoutMs));
    } finally {
      // Idle, the connection does not keep the process alive: a command that forgets close() still exits.
      if (--this.pending === 0) connection.unref();
    }
  }

  /** Ends the connection; a call still waiting for its reply fails with UNAVAILABLE. */
  close(): void {
    this.connection?.destroy();
    this.connection = undefined;
  }

  private connect(): H2Connection {
    if (!this.connection?.usable) this.connection = new H2Connection(this.host, this.port);
    return this.connection;
  }

  private exchange(connection: H2Connection, headers: HeaderList, body: Buffer, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              connection.cancel(streamId);
              reject(new RpcError(GrpcStatus.DEADLINE_EXCEEDED, `no reply within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      const streamId = connection.request(headers, body, 5 + MAX_REPLY_BYTES, (outcome) => {
        clearTimeout(timer);
        if (outcome instanceof H2Failure) {
          const code = outcome.tooLarge
            ? GrpcStatus.RESOURCE_EXHAUSTED
            : outcome.resetCode === undefined
              ? GrpcStatus.UNAVAILABLE
              : statusOfReset(outcome.resetCode);
          return reject(new RpcError(code, outcome.message));
        }
        try {
          resolve(outcomeOf(outcome));
        } catch (e) {
          reject(e as RpcError);
        }
      });
    });
  }
}
