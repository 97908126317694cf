// MUNGE client speaking munged's unix-socket protocol directly (message format version 4), so no native addon
// and no munge/unmunge process per call. One connection per request: connect, write, read one reply.
import net from "node:net";

export const DEFAULT_MUNGE_SOCKET = "/run/munge/munge.socket.2";

/** A MUNGE failure; `code` is MUNGE's error number (6 = transport failure, 14 invalid, 15 expired, 17 replayed). */
export class MungeError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = "MungeError";
    this.code = code;
  }
}

export interface MungeCredential {
  uid: number;
  gid: number;
  encodeTime: number;
  decodeTime: number;
  ttl: number;
  addr: string;
  payload: Buffer;
}

const MAGIC = 0x00606d4b;
const VERSION = 4;
const HEADER_LEN = 11;
const ENC_REQ = 2;
const DEC_REQ = 4;
const AUTH_FD_REQ = 6;
const ANY_ID = 0xffffffff;
const U32_MAX = 0xffffffff;
const ERR_BAD_ARG = 2;
const ERR_BAD_LENGTH = 3;
const ERR_SOCKET = 6;
const ERR_BAD_CRED = 8;
const MAX_CRED_LEN = 64 * 1024;
// munged 0.5.15 drops requests whose body exceeds 1 MiB; an encode body is 20 bytes plus the payload.
const MAX_PAYLOAD_LEN = 1024 * 1024 - 20;
// Replies are at most a little over 1 MiB; anything claiming more is not munged.
const MAX_REPLY_BODY = 2 * 1024 * 1024;
const CONNECT_ATTEMPTS = 10;
const TRANSACTION_ATTEMPTS = 5;
const DEFAULT_TIMEOUT_MS = 3000;
const MAX_IN_FLIGHT = 64;
const CREDENTIAL_RE = /^MUNGE:[A-Za-z0-9+/]+={0,2}:$/;

/** A send/receive failure that libmunge would retry on a fresh connection. */
class TransportError extends Error {}

export async function mungeEncode(opts: { socketPath?: string; payload?: Buffer; ttl?: number; timeoutMs?: number } = {}): Promise<string> {
  const payload = opts.payload ?? Buffer.alloc(0);
  const ttl = opts.ttl ?? 0;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > U32_MAX) {
    throw new MungeError(ERR_BAD_ARG, `munge: invalid ttl ${ttl} (an integer 0..${U32_MAX})`);
  }
  if (payload.length > MAX_PAYLOAD_LEN) {
    throw new MungeError(ERR_BAD_LENGTH, `munge: payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_LEN}`);
  }
  const body = Buffer.alloc(20 + payload.length);
  // cipher, mac, zip = daemon defaults (1); realm_len 0: the realm is an unfinished feature of MUNGE.
  body.set([1, 1, 1, 0], 0);
  body.writeUInt32BE(ttl, 4);
  body.writeUInt32BE(ANY_ID, 8);
  body.writeUInt32BE(ANY_ID, 12);
  body.writeUInt32BE(payload.length, 16);
  payload.copy(body, 20);

  const reply = new Reader(await request(ENC_REQ, body, opts), "encode");
  throwOnError(reply, "encode");
  const cred = reply.bytes(reply.u32());
  reply.end();
  const text = cred.subarray(0, cred.length > 0 && cred[cred.length - 1] === 0 ? -1 : cred.length);
  return text.toString("latin1");
}

/** Decodes `cred`; throws MungeError for every failure, including expired (15), rewound (16) and replayed (17). */
export async function mungeDecode(cred: string, opts: { socketPath?: string; timeoutMs?: number } = {}): Promise<MungeCredential> {
  if (cred.length > MAX_CRED_LEN) {
    throw new MungeError(ERR_BAD_LENGTH, `munge: credential of ${cred.length} characters exceeds ${MAX_CRED_LEN}`);
  }
  if (!CREDENTIAL_RE.test(cred)) {
    throw new MungeError(ERR_BAD_CRED, 'munge: not a MUNGE credential (expected ASCII "MUNGE:<base64>:")');
  }
  const body = Buffer.alloc(4 + cred.length + 1);
  body.writeUInt32BE(cred.length + 1, 0);
  body.write(cred, 4, "latin1"); // the trailing NUL is already there from alloc

  const reply = new Reader(await request(DEC_REQ, body, opts), "decode");
  throwOnError(reply, "decode");
  reply.bytes(3); // cipher, mac, zip
  reply.bytes(reply.u8()); // realm
  const ttl = reply.u32();
  const addrBytes = reply.bytes(reply.u8());
  const encodeTime = reply.u32();
  const decodeTime = reply.u32();
  const uid = reply.u32();
  const gid = reply.u32();
  reply.bytes(8); // auth_uid, auth_gid: we never restrict decoding
  const payload = Buffer.from(reply.bytes(reply.u32()));
  reply.end();
  const addr = addrBytes.length === 4 ? Array.from(addrBytes).join(".") : addrBytes.toString("hex");
  return { uid, gid, encodeTime, decodeTime, ttl, addr, payload };
}

function throwOnError(reply: Reader, what: string): void {
  const code = reply.u8();
  const text = reply.bytes(reply.u8()).toString("utf8").replace(/\0+$/, "");
  if (code !== 0) throw new MungeError(code, `munge: ${what} failed: ${text || "unknown error"} (error ${code})`);
}

class Reader {
  private offset = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}
  private take(n: number): number {
    if (this.offset + n > this.buf.length) this.malformed();
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }
  bytes(n: number): Buffer {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }
  end(): void {
    if (this.offset !== this.buf.length) this.malformed();
  }
  private malformed(): never {
    throw new MungeError(ERR_SOCKET, `munge: malformed ${this.what} reply from munged`);
  }
}

let inFlight = 0;
const waiting: Array<() => void> = [];

async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (inFlight < MAX_IN_FLIGHT) inFlight++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next)
      next(); // hand our slot over directly
    else inFlight--;
  }
}

interface Call {
  socketPath: string;
  timeoutMs: number;
  deadline: number;
}

function timedOut(call: Call): MungeError {
  return new MungeError(ERR_SOCKET, `munge: munged at ${call.socketPath} did not answer within ${call.timeoutMs} ms`);
}

/** Sends one request and returns the reply body. The timeout covers the whole call, retries included. */
function request(type: number, body: Buffer, opts: { socketPath?: string; timeoutMs?: number }): Promise<Buffer> {
  const socketPath = opts.socketPath ?? DEFAULT_MUNGE_SOCKET;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new MungeError(ERR_BAD_ARG, `munge: invalid timeoutMs ${timeoutMs}`);
  // The in-flight cap keeps a burst from overflowing munged's listen backlog (EAGAIN) and its fd limit.
  return withSlot(async () => {
    const call: Call = { socketPath, timeoutMs, deadline: Date.now() + timeoutMs };
    const frame = Buffer.alloc(HEADER_LEN + body.length);
    frame.writeUInt32BE(MAGIC, 0);
    frame.writeUInt8(VERSION, 4);
    frame.writeUInt8(type, 5);
    frame.writeUInt32BE(body.length, 7);
    body.copy(frame, HEADER_LEN);
    for (let attempt = 0; ; attempt++) {
      frame.writeUInt8(attempt, 6); // retry field: non-zero only on a resend (it lifts replay detection)
      const socket = await connect(call);
      try {
        return await exchange(socket, frame, type + 1, call);
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        if (attempt + 1 >= TRANSACTION_ATTEMPTS) {
          const why = `after ${TRANSACTION_ATTEMPTS} attempts: ${err.message}`;
          throw new MungeError(ERR_SOCKET, `munge: no reply from munged at ${socketPath} ${why}`);
        }
        if (Date.now() + 10 * (attempt + 1) >= call.deadline) throw timedOut(call);
        await sleep(10 * (attempt + 1));
      }
    }
  });
}

async function connect(call: Call): Promise<net.Socket> {
  const { socketPath } = call;
  for (let attempt = 1; ; attempt++) {
    const outcome = await new Promise<net.Socket | NodeJS.ErrnoException>((resolve) => {
      const socket = net.createConnection({ path: socketPath });
      const onError = (err: Error) => {
        socket.destroy();
        resolve(err);
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(socket);
      });
    });
    if (outcome instanceof net.Socket) return outcome;
    const code = outcome.code ?? outcome.message;
    const busy = code === "EAGAIN" || code === "ECONNREFUSED";
    if (code === "EINTR") continue;
    if (!busy || attempt >= CONNECT_ATTEMPTS || Date.now() + 50 * attempt >= call.deadline) {
      const hint = busy || code === "ENOENT" ? " (is munged running?)" : "";
      throw new MungeError(ERR_SOCKET, `munge: cannot reach munged at ${socketPath}: ${code}${hint}`);
    }
    await sleep(50 * attempt);
  }
}

function exchange(socket: net.Socket, frame: Buffer, replyType: number, call: Call): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let bodyLen = -1;
    const finish = (result: Buffer | Error) => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => finish(timedOut(call)), Math.max(0, call.deadline - Date.now()));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (bodyLen < 0 && received >= HEADER_LEN) {
        const header = Buffer.concat(chunks);
        const type = header.readUInt8(5);
        if (header.readUInt32BE(0) !== MAGIC || header.readUInt8(4) !== VERSION) {
          return finish(new TransportError("reply has a bad magic or version"));
        }
        if (type === AUTH_FD_REQ) {
          return finish(new MungeError(ERR_SOCKET, "munge: munged asked for fd-passing authentication (unsupported platform)"));
        }
        if (type !== replyType) return finish(new TransportError(`reply has type ${type}, expected ${replyType}`));
        bodyLen = header.readUInt32BE(7);
        if (bodyLen > MAX_REPLY_BODY) return finish(new TransportError(`reply claims ${bodyLen} body bytes`));
      }
      if (bodyLen >= 0 && received >= HEADER_LEN + bodyLen) {
        finish(Buffer.concat(chunks).subarray(HEADER_LEN, HEADER_LEN + bodyLen));
      }
    });
    // munged closing before a full reply (malformed request, its own timeout) looks like end, EPIPE or ECONNRESET.
    socket.on("end", () => finish(new TransportError("munged closed the connection without a complete reply")));
    socket.on("error", (err: NodeJS.ErrnoException) => finish(new TransportError(err.code ?? err.message)));
    socket.end(frame); // one write, then half-close: munged still answers
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
