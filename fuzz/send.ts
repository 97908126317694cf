// Sends planned calls and says how each ended. gRPC calls go through @grpc/grpc-js with identity serializers, so the
// planned bytes reach the server unchanged; broken framing goes over plain HTTP/2. Every call carries a deadline
// for the server (grpc-timeout) but none of the client's own, so any status that arrives is the server's answer, and a
// call the server has not ended within that deadline plus a grace period counts as unanswered.
import * as grpc from "@grpc/grpc-js";
import http2 from "node:http2";
import type { CallPlan } from "./generate";
import type { Endpoint, MethodSchema } from "./schema";

export interface Deadlines {
  /** The deadline sent with unary calls. */
  unaryMs: number;
  /** The deadline sent with server-streaming calls (a follow may wait for data that never comes). */
  streamMs: number;
  /** How long after its deadline a call may still take to end before it counts as unanswered. */
  graceMs: number;
}

/**
 * How a call ended: a gRPC status name; STREAMING (a server stream sent a first message; the client then cancels);
 * HTTP_n (an HTTP status without gRPC status); RST_n (the server reset the stream); RESET_BY_CLIENT (the plan
 * reset it itself); OPEN_NO_DEADLINE (a server stream whose deadline header the plan mangled, still open: with no
 * deadline a follow may rightly wait, and the client cancels it); NO_ANSWER (nothing before the deadline and grace).
 */
export type Outcome = string;
export const NO_ANSWER = "NO_ANSWER";
export const STREAMING = "STREAMING";
export const RESET_BY_CLIENT = "RESET_BY_CLIENT";
export const OPEN_NO_DEADLINE = "OPEN_NO_DEADLINE";

export interface CallResult {
  outcome: Outcome;
  details: string;
}

const identity = (b: Buffer) => b;
const identityDeserialize = (b: Buffer) => b;

function statusName(code: number): string {
  return grpc.status[code] ?? `STATUS_${code}`;
}

export class Sender {
  private readonly clients = new Map<Endpoint, grpc.Client>();
  private readonly sessions = new Map<Endpoint, http2.ClientHttp2Session>();

  constructor(
    private readonly addresses: Record<Endpoint, string>,
    private readonly deadlines: Deadlines,
  ) {}

  send(method: MethodSchema, plan: CallPlan): Promise<CallResult> {
    const deadlineMs = method.serverStream ? this.deadlines.streamMs : this.deadlines.unaryMs;
    return new Promise((resolve) => {
      let settled = false;
      let cancel = () => {};
      const settle = (outcome: Outcome, details = "") => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        cancel();
        resolve({ outcome, details });
      };
      const noDeadline = method.serverStream && plan.mutation === "frame-bad-timeout";
      const watchdog = setTimeout(
        () =>
          noDeadline
            ? settle(OPEN_NO_DEADLINE, "still open with a mangled grpc-timeout; cancelled")
            : settle(NO_ANSWER, `no status ${deadlineMs + this.deadlines.graceMs} ms after the call`),
        deadlineMs + this.deadlines.graceMs,
      );
      try {
        cancel = plan.transport === "grpc" ? this.sendGrpc(method, plan, deadlineMs, settle) : this.sendHttp2(method, plan, deadlineMs, settle);
      } catch (e) {
        settle("CLIENT_ERROR", (e as Error).message);
      }
    });
  }

  private client(endpoint: Endpoint): grpc.Client {
    let c = this.clients.get(endpoint);
    if (!c) {
      c = new grpc.Client(this.addresses[endpoint], grpc.credentials.createInsecure(), {
        "grpc.enable_channelz": 0,
        "grpc.max_send_message_length": 64 * 1024 * 1024,
        "grpc.max_receive_message_length": 256 * 1024 * 1024,
      });
      this.clients.set(endpoint, c);
    }
    return c;
  }

  private sendGrpc(method: MethodSchema, plan: CallPlan, deadlineMs: number, settle: (o: Outcome, d?: string) => void): () => void {
    const md = new grpc.Metadata();
    for (const [k, v] of plan.metadata) md.add(k, v);
    md.set("grpc-timeout", `${deadlineMs}m`);
    const client = this.client(method.endpoint);
    const onStatus = (err: grpc.ServiceError | null) => settle(err ? statusName(err.code) : "OK", err?.details ?? "");
    if (method.serverStream) {
      const call = client.makeServerStreamRequest(method.path, identity, identityDeserialize, plan.body, md, {});
      call.on("data", () => settle(STREAMING));
      call.on("error", () => {});
      call.on("status", (s: grpc.StatusObject) => settle(statusName(s.code), s.details));
      return () => call.cancel();
    }
    if (method.clientStream) {
      const call = client.makeClientStreamRequest(method.path, identity, identityDeserialize, md, {}, onStatus);
      call.write(plan.body);
      call.end();
      return () => call.cancel();
    }
    const call = client.makeUnaryRequest(method.path, identity, identityDeserialize, plan.body, md, {}, onStatus);
    return () => call.cancel();
  }

  private session(endpoint: Endpoint): http2.ClientHttp2Session {
    let s = this.sessions.get(endpoint);
    if (!s || s.closed || s.destroyed) {
      s = http2.connect(`http://${this.addresses[endpoint]}`);
      s.on("error", () => {}); // the calls on it see their own close
      this.sessions.set(endpoint, s);
    }
    return s;
  }

  private sendHttp2(method: MethodSchema, plan: CallPlan, deadlineMs: number, settle: (o: Outcome, d?: string) => void): () => void {
    const headers: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": method.path,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": `${deadlineMs}m`,
    };
    for (const [k, v] of plan.metadata) headers[k] = typeof v === "string" ? v : v.toString("base64");
    Object.assign(headers, plan.headers);
    const req = this.session(method.endpoint).request(headers);
    const onGrpcStatus = (h: http2.IncomingHttpHeaders) => {
      const code = h["grpc-status"];
      if (code !== undefined) settle(statusName(Number(code)), String(h["grpc-message"] ?? ""));
    };
    req.on("response", (h) => {
      if (h[":status"] !== 200) settle(`HTTP_${h[":status"]}`);
      else onGrpcStatus(h);
    });
    req.on("trailers", onGrpcStatus);
    req.on("data", () => {
      if (method.serverStream) settle(STREAMING);
    });
    req.on("error", () => {});
    req.on("close", () => settle(`RST_${req.rstCode ?? "?"}`, "stream closed without a gRPC status"));
    if (plan.resetAfterSend) {
      req.write(plan.frames, () => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        settle(RESET_BY_CLIENT);
      });
    } else req.end(plan.frames);
    return () => {
      if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    };
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    for (const s of this.sessions.values()) s.destroy();
    this.clients.clear();
    this.sessions.clear();
  }
}
