// gRPC plumbing shared by every role: channel options, promise wrappers and server helpers.
import * as grpc from "@grpc/grpc-js";
import fs from "node:fs";
import { CraneCtldClient, CraneCtldForInternalClient, CranedClient } from "../generated/crane/services";
import { mungeCredentialInterceptor, type AuthType } from "../auth/caller";
import { nodeCredentialInterceptor } from "../auth/node-credential";

export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // channelz (grpc-js' call statistics for its debugging service) costs ~10% of a daemon's CPU per call; unused.
  "grpc.enable_channelz": 0,
  "grpc.keepalive_time_ms": 20_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 5_000,
  "grpc.max_receive_message_length": 256 * 1024 * 1024,
  "grpc.max_send_message_length": 256 * 1024 * 1024,
};

type UnaryMethod<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

/** Calls a unary method with the caller's identity and a deadline; rejects with the grpc ServiceError. */
export function unary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  req: Req,
  timeoutMs = 10_000,
  md: grpc.Metadata = new grpc.Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const opts: Partial<grpc.CallOptions> = timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
    method.call(client, req, md, opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A user command's client of ctld; with AuthType munge every call carries a fresh MUNGE credential. */
export function ctldClient(host: string, port: number, auth: { type: AuthType; mungeSocket: string } = { type: "local", mungeSocket: "" }): CraneCtldClient {
  const interceptors = auth.type === "munge" ? [mungeCredentialInterceptor(auth.mungeSocket)] : [];
  return new CraneCtldClient(`${host}:${port}`, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, interceptors });
}

/** A node's client of ctld's internal service: every call names the node and carries its key. */
export function ctldInternalClient(host: string, port: number, node: string, nodeKey: string): CraneCtldForInternalClient {
  return new CraneCtldForInternalClient(`${host}:${port}`, grpc.credentials.createInsecure(), {
    ...CHANNEL_OPTIONS,
    interceptors: [nodeCredentialInterceptor(node, nodeKey)],
  });
}

/**
 * A client of a craned: ctld's (host:port, presenting that node's key) or a supervisor's (unix:///path to its
 * craned's root-only socket).
 */
export function cranedClient(address: string, node?: { name: string; key: string }): CranedClient {
  const interceptors = node ? [nodeCredentialInterceptor(node.name, node.key)] : [];
  return new CranedClient(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, interceptors });
}

export { grpcErrorSuffix, isUnavailable } from "./status";

/** What a request that does not decode is replaced with, so that its handler's wrapper can say what is wrong. */
const MALFORMED = Symbol("malformed request");
type Malformed = { [MALFORMED]: string };

function malformedReason(request: unknown): string | undefined {
  return request && typeof request === "object" && MALFORMED in request ? (request as Malformed)[MALFORMED] : undefined;
}

/**
 * The service with request decoders that never throw: grpc-js answers a decoder's error with a bare INTERNAL
 * ("Error deserializing request"), while safeHandlers answers INVALID_ARGUMENT naming the method and the fault.
 */
function withTolerantDecoders(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const tolerant = (decode: grpc.deserialize<unknown>) => (bytes: Buffer) => {
    try {
      return decode(bytes);
    } catch (e) {
      return { [MALFORMED]: (e as Error)?.message ?? String(e) } satisfies Malformed;
    }
  };
  return Object.fromEntries(Object.entries(service).map(([name, method]) => [name, { ...method, requestDeserialize: tolerant(method.requestDeserialize) }]));
}

class CraneServer extends grpc.Server {
  override addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    super.addService(withTolerantDecoders(service), implementation);
  }
}

/**
 * A gRPC server of a crane daemon (channelz off; `options` add to or override that). Serve its services through
 * safeHandlers: a request that does not decode reaches the handler's wrapper only, which refuses it.
 */
export function newServer(options: grpc.ServerOptions = {}): grpc.Server {
  return new CraneServer({ "grpc.enable_channelz": 0, ...options });
}

export function bindServer(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

/** Longest error text sent back: a message quoting a huge request field would not fit in the HTTP/2 trailers. */
const MAX_DETAILS_CHARS = 1000;

function clipDetails(text: string): string {
  return text.length <= MAX_DETAILS_CHARS ? text : `${text.slice(0, MAX_DETAILS_CHARS)}... (${text.length - MAX_DETAILS_CHARS} more characters)`;
}

/**
 * Wraps a service implementation so that a handler that throws (or rejects) answers INTERNAL with the message
 * instead of crashing the daemon: a malformed request must never take a daemon down.
 */
export function safeHandlers<T extends object>(
  impl: T,
  log: (msg: string) => void,
  opts: { authenticate?: (call: grpc.ServerUnaryCall<unknown, unknown>, method: string) => void } = {},
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, fn] of Object.entries(impl) as [string, (...a: unknown[]) => unknown][]) {
    if (typeof fn !== "function") continue;
    out[name] = (call: unknown, callback?: grpc.sendUnaryData<unknown>) => {
      const fail = (e: unknown) => {
        // An error that names its status (e.g. UNAUTHENTICATED for a refused caller) is an answer, not a fault.
        const named = (e as { code?: unknown })?.code;
        const code = typeof named === "number" && named in grpc.status ? named : grpc.status.INTERNAL;
        if (code === grpc.status.INTERNAL) log(`${name} failed: ${(e as Error)?.stack ?? e}`);
        else if (code === grpc.status.UNAUTHENTICATED)
          log(`refused ${name} from ${(call as grpc.ServerUnaryCall<unknown, unknown>).getPeer()}: ${clipDetails((e as Error)?.message ?? String(e))}`);
        const err = { code, details: clipDetails((e as Error)?.message ?? String(e)) };
        if (callback) callback(err, null);
        // A server stream ends with a status through 'error' (destroy() would drop the call without one: the client hangs).
        else (call as grpc.ServerWritableStream<unknown, unknown>).emit("error", Object.assign(new Error(err.details), err));
      };
      try {
        const method = `${name[0]!.toUpperCase()}${name.slice(1)}`;
        opts.authenticate?.(call as grpc.ServerUnaryCall<unknown, unknown>, method);
        const malformed = malformedReason((call as { request?: unknown }).request);
        if (malformed !== undefined) {
          throw Object.assign(new Error(`${method}: the request is not a valid protobuf message of its type (${malformed})`), {
            code: grpc.status.INVALID_ARGUMENT,
          });
        }
        const r = fn.call(impl, call, callback);
        if (r && typeof (r as Promise<unknown>).catch === "function") (r as Promise<unknown>).catch(fail);
      } catch (e) {
        fail(e);
      }
    };
  }
  return out;
}

/** Resolves once `ready()` holds, `timeoutMs` has passed or the caller went away (looked at every 20 ms). */
export async function waitWhileCallOpen(call: { cancelled: boolean }, ready: () => boolean, timeoutMs = Infinity): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ready() && !call.cancelled && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** Binds a unix socket that only root (the daemon's own user) may connect to: created 0600, with no window before. */
export async function bindRootOnlySocket(server: grpc.Server, socketPath: string): Promise<void> {
  fs.rmSync(socketPath, { force: true });
  const umask = process.umask(0o177);
  try {
    await bindServer(server, `unix://${socketPath}`);
  } finally {
    process.umask(umask);
  }
}
