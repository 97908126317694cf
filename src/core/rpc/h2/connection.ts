// A client's end of one cleartext HTTP/2 connection (RFC 9113, "prior knowledge": no upgrade, no TLS) on a plain
// TCP socket, for request/reply exchanges: each request is a header block and a body sent at once, each reply is
// collected whole. It is what a user command needs to make a gRPC call, at a fraction of what loading node:http2
// costs a process that starts (that module loads tls, http and their dependencies: ~35 ms).
import net from "node:net";
import { encodeHeaders, HpackDecoder, type HeaderList } from "./hpack";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

const enum Frame {
  DATA = 0x0,
  HEADERS = 0x1,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** RST_STREAM's code for a stream this end gave up on. */
export const CANCEL = 0x8;

/** The largest window HTTP/2 allows: replies are bounded by the caller instead of by flow control. */
const MAX_WINDOW = 2 ** 31 - 1;
const DEFAULT_WINDOW = 65_535;

export interface H2Reply {
  headers: HeaderList;
  /** Empty for a reply whose only header block ended the stream (gRPC's trailers-only reply). */
  trailers: HeaderList;
  body: Buffer;
}

/** Why an exchange failed: the connection (nothing more will come on it), or the server reset the stream. */
export class H2Failure extends Error {
  constructor(
    message: string,
    /** The RST_STREAM error code; undefined when the connection failed. */
    readonly resetCode?: number,
    /** The reply grew past the caller's limit (this end reset the stream). */
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

interface Exchange {
  headers?: HeaderList;
  trailers: HeaderList;
  chunks: Buffer[];
  received: number;
  /** What of the body is still to be sent, as the server's flow-control windows allow; undefined once all is. */
  unsent: Buffer | undefined;
  sendWindow: number;
  maxReplyBytes: number;
  done(outcome: H2Reply | H2Failure): void;
}

function frame(type: Frame, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  out.set(payload, 9);
  return out;
}

function settingsPayload(settings: [id: number, value: number][]): Buffer {
  const out = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    out.writeUInt16BE(id, 6 * i);
    out.writeUInt32BE(value, 6 * i + 2);
  });
  return out;
}

function u32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value);
  return out;
}

export class H2Connection {
  private readonly socket: net.Socket;
  private readonly decoder = new HpackDecoder();
  private readonly exchanges = new Map<number, Exchange>();
  private nextStreamId = 1;
  private inbox: Buffer = Buffer.alloc(0);
  /** A header block arriving in HEADERS + CONTINUATION frames. */
  private partialBlock: { streamId: number; endStream: boolean; fragments: Buffer[] } | undefined;
  private sendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16_384;
  /** DATA octets received since the connection's window was last reopened. */
  private consumed = 0;
  private failure: H2Failure | undefined;
  private goneAway = false;

  constructor(host: string, port: number) {
    // noDelay: without it Nagle's algorithm holds the request's frames back until the server's delayed ACK (~40 ms).
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => this.receive(chunk));
    this.socket.on("error", (e) => this.fail(new H2Failure(e.message)));
    this.socket.on("close", () => this.fail(new H2Failure("the connection closed")));
    // Written at once (the socket queues it until it connects): the preface, our settings, and a connection window as
    // large as HTTP/2 allows.
    this.socket.write(
      Buffer.concat([
        PREFACE,
        frame(
          Frame.SETTINGS,
          0,
          0,
          settingsPayload([
            [SETTINGS_ENABLE_PUSH, 0],
            [SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW],
          ]),
        ),
        frame(Frame.WINDOW_UPDATE, 0, 0, u32(MAX_WINDOW - DEFAULT_WINDOW)),
      ]),
    );
  }

  /** False once the connection failed or the server said it takes no new streams (GOAWAY). */
  get usable(): boolean {
    return !this.failure && !this.goneAway;
  }

  /** Starts an exchange; `done` is called once, with the whole reply or why there is none. Returns the stream id. */
  request(headers: HeaderList, body: Buffer, maxReplyBytes: number, done: (outcome: H2Reply | H2Failure) => void): number {
    const streamId = this.nextStreamId;
    this.nextStreamId += 2;
    if (!this.usable) {
      done(this.failure ?? new H2Failure("the server takes no new requests on this connection"));
      return streamId;
    }
    this.exchanges.set(streamId, { trailers: [], chunks: [], received: 0, unsent: body, sendWindow: this.peerInitialWindow, maxReplyBytes, done });
    const block = encodeHeaders(headers);
    const frames: Buffer[] = [];
    for (let at = 0; at === 0 || at < block.length; at += this.peerMaxFrame) {
      const fragment = block.subarray(at, at + this.peerMaxFrame);
      const last = at + this.peerMaxFrame >= block.length;
      frames.push(frame(at === 0 ? Frame.HEADERS : Frame.CONTINUATION, last ? END_HEADERS : 0, streamId, fragment));
    }
    this.socket.write(Buffer.concat(frames));
    this.sendBodies();
    return streamId;
  }

  /** Gives up on an exchange (its `done` is not called): the server is told with RST_STREAM CANCEL. */
  cancel(streamId: number): void {
    if (!this.exchanges.delete(streamId) || this.failure) return;
    this.socket.write(frame(Frame.RST_STREAM, 0, streamId, u32(CANCEL)));
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  destroy(): void {
    this.fail(new H2Failure("the connection was closed by this end"));
  }

  // ------------------------------------------------------------------ sending

  /** Sends what the flow-control windows allow of every exchange's body; the last frame of each ends its stream. */
  private sendBodies(): void {
    const frames: Buffer[] = [];
    for (const [streamId, x] of this.exchanges) {
      while (x.unsent) {
        const n = Math.max(0, Math.min(x.unsent.length, this.sendWindow, x.sendWindow, this.peerMaxFrame));
        if (n === 0 && x.unsent.length > 0) break;
        const last = n === x.unsent.length;
        frames.push(frame(Frame.DATA, last ? END_STREAM : 0, streamId, x.unsent.subarray(0, n)));
        this.sendWindow -= n;
        x.sendWindow -= n;
        x.unsent = last ? undefined : x.unsent.subarray(n);
      }
    }
    if (frames.length > 0) this.socket.write(Buffer.concat(frames));
  }

  // ------------------------------------------------------------------ receiving

  private receive(chunk: Buffer): void {
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    try {
      while (this.inbox.length >= 9 && !this.failure) {
        const length = this.inbox.readUIntBE(0, 3);
        if (this.inbox.length < 9 + length) break;
        const type = this.inbox[3]!;
        const flags = this.inbox[4]!;
        const streamId = this.inbox.readUInt32BE(5) & 0x7fffffff;
        const payload = this.inbox.subarray(9, 9 + length);
        this.inbox = this.inbox.subarray(9 + length);
        this.onFrame(type, flags, streamId, payload);
      }
    } catch (e) {
      // A protocol error (a header block that does not decode, say) ends the connection: its state is unknown.
      this.fail(new H2Failure(`HTTP/2 protocol error: ${(e as Error).message}`));
    }
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.partialBlock && type !== Frame.CONTINUATION) throw new Error("a header block was interrupted by another frame");
    switch (type) {
      case Frame.SETTINGS:
        if (flags & ACK) return;
        this.applySettings(payload);
        this.socket.write(frame(Frame.SETTINGS, ACK, 0));
        this.sendBodies();
        return;
      case Frame.PING:
        if (!(flags & ACK)) this.socket.write(frame(Frame.PING, ACK, 0, payload));
        return;
      case Frame.WINDOW_UPDATE: {
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (streamId === 0) this.sendWindow += increment;
        else {
          const x = this.exchanges.get(streamId);
          if (x) x.sendWindow += increment;
        }
        this.sendBodies();
        return;
      }
      case Frame.HEADERS: {
        let start = 0;
        let end = payload.length;
        if (flags & PADDED) end -= payload[start++]!;
        if (flags & PRIORITY) start += 5;
        if (start > end) throw new Error("a HEADERS frame's padding is longer than the frame");
        this.partialBlock = { streamId, endStream: (flags & END_STREAM) !== 0, fragments: [payload.subarray(start, end)] };
        if (flags & END_HEADERS) this.endHeaderBlock();
        return;
      }
      case Frame.CONTINUATION:
        if (!this.partialBlock || this.partialBlock.streamId !== streamId) throw new Error("a CONTINUATION frame without its HEADERS");
        this.partialBlock.fragments.push(payload);
        if (flags & END_HEADERS) this.endHeaderBlock();
        return;
      case Frame.DATA: {
        this.reopenConnectionWindow(payload.length);
        const x = this.exchanges.get(streamId);
        if (!x) return;
        const data = flags & PADDED ? payload.subarray(1, payload.length - payload[0]!) : payload;
        x.received += data.length;
        if (x.received > x.maxReplyBytes) {
          this.cancel(streamId);
          x.done(new H2Failure(`the reply is larger than ${x.maxReplyBytes} bytes`, CANCEL, true));
          return;
        }
        x.chunks.push(data);
        if (flags & END_STREAM) this.complete(streamId, x);
        return;
      }
      case Frame.RST_STREAM: {
        const x = this.exchanges.get(streamId);
        if (!x) return;
        this.exchanges.delete(streamId);
        const code = payload.readUInt32BE(0);
        x.done(new H2Failure(`the server reset the stream (HTTP/2 error ${code})`, code));
        return;
      }
      case Frame.GOAWAY: {
        this.goneAway = true;
        const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
        for (const [id, x] of this.exchanges) {
          if (id <= lastStreamId) continue;
          this.exchanges.delete(id);
          x.done(new H2Failure("the server closed the connection before it took the request"));
        }
        return;
      }
      case Frame.PUSH_PROMISE:
        throw new Error("the server pushed a stream although push is disabled");
      default:
        return; // Unknown frame types are ignored (RFC 9113, 4.1).
    }
  }

  private applySettings(payload: Buffer): void {
    for (let at = 0; at + 6 <= payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        for (const x of this.exchanges.values()) x.sendWindow += value - this.peerInitialWindow;
        this.peerInitialWindow = value;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) this.peerMaxFrame = value;
    }
  }

  private endHeaderBlock(): void {
    const { streamId, endStream, fragments } = this.partialBlock!;
    this.partialBlock = undefined;
    // Every block is decoded, also one for a stream given up on: each may change the connection's HPACK table.
    const headers = this.decoder.decode(fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments));
    const x = this.exchanges.get(streamId);
    if (!x) return;
    if (x.headers === undefined) x.headers = headers;
    else x.trailers = headers;
    if (endStream) this.complete(streamId, x);
  }

  private reopenConnectionWindow(octets: number): void {
    this.consumed += octets;
    if (this.consumed < MAX_WINDOW / 2) return;
    this.socket.write(frame(Frame.WINDOW_UPDATE, 0, 0, u32(this.consumed)));
    this.consumed = 0;
  }

  private complete(streamId: number, x: Exchange): void {
    this.exchanges.delete(streamId);
    x.done({ headers: x.headers ?? [], trailers: x.trailers, body: x.chunks.length === 1 ? x.chunks[0]! : Buffer.concat(x.chunks) });
  }

  private fail(failure: H2Failure): void {
    if (this.failure) return;
    this.failure = failure;
    this.socket.destroy();
    const pending = [...this.exchanges.values()];
    this.exchanges.clear();
    for (const x of pending) x.done(failure);
  }
}
