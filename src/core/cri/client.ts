// The connection to a container runtime's CRI endpoints (containerd's runtime.v1 API over a unix socket).
// Every call has a deadline (5 s by default, image pulls their own) and fails with a CriError that says what
// was being done, for what, and why: `failed to create container for job 12 step 2: <runtime's detail>`.
import os from "node:os";
import * as grpc from "@grpc/grpc-js";
import { ImageServiceClient, RuntimeServiceClient, type VersionResponse } from "../generated/cri/api";

export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
export const DEFAULT_PULL_TIMEOUT_MS = 300_000;

export interface CriClientOptions {
  /** containerd's socket: "/run/containerd/containerd.sock" or "unix:///run/containerd/containerd.sock". */
  runtimeEndpoint: string;
  /** Defaults to runtimeEndpoint; equal endpoints share one channel. */
  imageEndpoint?: string;
  /** Deadline of each call unless the call says otherwise. */
  timeoutMs?: number;
  /** Deadline of PullImage. */
  pullTimeoutMs?: number;
  /** Named in errors about this node (default: the host name). */
  nodeName?: string;
  /** Observer of every finished call, e.g. to measure latencies. */
  onCallDone?: (event: { op: string; ms: number; error?: CriError }) => void;
}

/** Per-call settings accepted by every function of this folder. */
export interface CallOptions {
  /** What the call is for, as in "failed to create container for <subject>: ...". */
  subject?: string;
  timeoutMs?: number;
}

/** A failed CRI call. `code` is the gRPC status code (undefined for non-gRPC errors). */
export class CriError extends Error {
  constructor(
    readonly op: string,
    readonly subject: string | undefined,
    readonly detail: string,
    readonly code: grpc.status | undefined,
    options?: { cause?: unknown },
  ) {
    super(`failed to ${op}${subject ? ` for ${subject}` : ""}: ${detail}`, options);
    this.name = "CriError";
  }
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === "number" && "details" in err;
}

/** The gRPC status code of an error, if it is a gRPC or CRI error. */
export function criErrorCode(err: unknown): grpc.status | undefined {
  if (err instanceof CriError) return err.code;
  if (isServiceError(err)) return err.code;
  return undefined;
}

export function isCriNotFound(err: unknown): boolean {
  return criErrorCode(err) === grpc.status.NOT_FOUND;
}

/**
 * Readable text for a gRPC (or any) error: the runtime's own detail where it has one, a hint where the
 * code alone says what is wrong. `endpoint` names the socket in connection errors.
 */
export function criErrorMessage(err: unknown, endpoint?: string): string {
  if (err instanceof CriError) return err.message;
  if (!isServiceError(err)) return err instanceof Error ? err.message : String(err);
  const details = (err.details || "").trim();
  const where = endpoint ? ` at ${endpoint}` : "";
  switch (err.code) {
    case grpc.status.UNAVAILABLE: {
      // grpc-js says "No connection established. Last error: Error: connect ENOENT /x.sock. Resolution note: ".
      const cause = /connect (E[A-Z]+)/.exec(details)?.[0] ?? (details.replace(/\s*Resolution note:\s*$/, "") || "unavailable");
      return `container runtime is not reachable${where} (${cause}; is containerd running?)`;
    }
    case grpc.status.DEADLINE_EXCEEDED:
      return `the container runtime did not answer in time${where}${details ? ` (${details})` : ""}`;
    case grpc.status.UNIMPLEMENTED:
      return `not supported by this container runtime${details ? ` (${details})` : ""}`;
    case grpc.status.CANCELLED:
      return `cancelled${details ? ` (${details})` : ""}`;
    default:
      return details || `${grpc.status[err.code] ?? err.code}`;
  }
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** Accepts "/path", "unix:/path" and "unix:///path"; returns the gRPC target "unix:///path". */
export function criTarget(endpoint: string): string {
  if (endpoint.startsWith("unix://")) return endpoint;
  if (endpoint.startsWith("unix:")) return `unix://${endpoint.slice("unix:".length)}`;
  if (endpoint.startsWith("/")) return `unix://${endpoint}`;
  throw new Error(`CRI endpoint "${endpoint}" is not a unix socket path (expected /path/to.sock or unix:///path/to.sock)`);
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // ExecSync may return up to 16 MiB of stdout plus 16 MiB of stderr.
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 16 * 1024 * 1024,
};

export class CriClient {
  readonly runtime: RuntimeServiceClient;
  readonly images: ImageServiceClient;
  readonly runtimeEndpoint: string;
  readonly imageEndpoint: string;
  readonly timeoutMs: number;
  readonly pullTimeoutMs: number;
  readonly nodeName: string;
  private readonly channels: grpc.Channel[] = [];
  private readonly onCallDone: CriClientOptions["onCallDone"];

  constructor(opts: CriClientOptions) {
    this.runtimeEndpoint = criTarget(opts.runtimeEndpoint);
    this.imageEndpoint = criTarget(opts.imageEndpoint || opts.runtimeEndpoint);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
    this.nodeName = opts.nodeName ?? os.hostname();
    this.onCallDone = opts.onCallDone;

    const credentials = grpc.credentials.createInsecure();
    const runtimeChannel = new grpc.Channel(this.runtimeEndpoint, credentials, CHANNEL_OPTIONS);
    this.channels.push(runtimeChannel);
    let imageChannel = runtimeChannel;
    if (this.imageEndpoint !== this.runtimeEndpoint) {
      imageChannel = new grpc.Channel(this.imageEndpoint, credentials, CHANNEL_OPTIONS);
      this.channels.push(imageChannel);
    }
    this.runtime = new RuntimeServiceClient(this.runtimeEndpoint, credentials, { channelOverride: runtimeChannel });
    this.images = new ImageServiceClient(this.imageEndpoint, credentials, { channelOverride: imageChannel });
  }

  /** Number of gRPC channels opened (1 when both endpoints are the same socket). */
  get channelCount(): number {
    return this.channels.length;
  }

  /** Calls a unary RuntimeService method; `op` is the action named in errors ("create container"). */
  runtimeCall<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, op: string, opts: CallOptions = {}): Promise<Res> {
    return this.unary(this.runtime, this.runtimeEndpoint, method, request, op, opts);
  }

  /** Calls a unary ImageService method. */
  imageCall<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, op: string, opts: CallOptions = {}): Promise<Res> {
    return this.unary(this.images, this.imageEndpoint, method, request, op, opts);
  }

  /** Wraps any error of an operation the way calls do (for streams and multi-step helpers). */
  wrapError(err: unknown, op: string, subject?: string, endpoint = this.runtimeEndpoint): CriError {
    if (err instanceof CriError) return err;
    return new CriError(op, subject, criErrorMessage(err, endpoint), criErrorCode(err), { cause: err });
  }

  private unary<Req, Res>(client: grpc.Client, endpoint: string, method: UnaryMethod<Req, Res>, request: Req, op: string, opts: CallOptions): Promise<Res> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const started = performance.now();
    return new Promise<Res>((resolve, reject) => {
      // A request that cannot be serialized throws here, synchronously.
      try {
        method.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
          const ms = performance.now() - started;
          if (error) {
            let detail = criErrorMessage(error, endpoint);
            if (error.code === grpc.status.DEADLINE_EXCEEDED) detail = `no answer within ${formatMs(timeoutMs)} from ${endpoint}`;
            const wrapped = new CriError(op, opts.subject, detail, error.code, { cause: error });
            this.onCallDone?.({ op, ms, error: wrapped });
            reject(wrapped);
          } else {
            this.onCallDone?.({ op, ms });
            resolve(response);
          }
        });
      } catch (err) {
        reject(this.wrapError(err, op, opts.subject, endpoint));
      }
    });
  }

  /** The runtime's name and versions; also the cheapest "is it up?" probe. */
  version(opts: CallOptions = {}): Promise<VersionResponse> {
    return this.runtimeCall(this.runtime.version, { version: "v1" }, "query the container runtime version", opts);
  }

  close(): void {
    for (const channel of this.channels) channel.close();
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function connectCri(opts: CriClientOptions): CriClient {
  return new CriClient(opts);
}
