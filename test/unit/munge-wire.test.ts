// Framing of src/core/auth/munge.ts against the worked example of the MUNGE protocol notes, through a fake
// munged on a unix socket (test/integration/munge.test.ts runs the client against the real one).
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MungeError, mungeDecode, mungeEncode } from "../../src/core/auth/munge";

const hex = (s: string) => Buffer.from(s.replace(/[\s|]/g, ""), "hex");

// Encode request for payload "hello" with every default, as the munge CLI sends it.
const ENCODE_HELLO = hex("00606d4b 04 02 00 00000019 | 01 01 01 00 | 00000000 | ffffffff | ffffffff | 00000005 | 68656c6c6f");
// Decode reply for that credential: ttl 300, 127.0.0.1, uid/gid 0, payload "hello".
const DECODE_FIELDS = "04 05 00 | 00 | 0000012c | 04 7f000001 | 6b0f858f 6b0f858f | 00000000 00000000 | ffffffff ffffffff | 00000005 68656c6c6f";
const DECODE_REPLY = hex(`00606d4b 04 05 00 00000030 | 00 00 | ${DECODE_FIELDS}`);
const REPLAYED = Buffer.from("Replayed credential\0");
const DECODE_REPLAYED = hex(`00606d4b 04 05 00 ${(0x30 + REPLAYED.length).toString(16).padStart(8, "0")} | 11 14
  ${REPLAYED.toString("hex")} | ${DECODE_FIELDS}`);
// Header 11 + error 2 + cipher/mac/zip 3 + realm_len 1 + ttl 4 + addr 5 + times 8.
const UID_OFFSET = 11 + 2 + 3 + 1 + 4 + 5 + 8;
const CRED = "MUNGE:AwQFAABknJX+t6LGBtJbDNVetB0pV+ipUIc9ZwgVTSEPgkw+sWSJ2BUTHiz0s6yIXBIOpFRNr/72edWT4QINcMhE=:";

/** Reply to one connection: the bytes to answer, or undefined to close without a reply. */
type Responder = (request: Buffer) => Buffer | undefined;

let dir: string;
let socketPath: string;
let server: net.Server;
let requests: Buffer[] = [];
let respond: Responder = () => undefined;

function encodeReply(cred: string): Buffer {
  const data = Buffer.from(`${cred}\0`, "latin1");
  const body = Buffer.alloc(6 + data.length);
  body.writeUInt32BE(data.length, 2);
  data.copy(body, 6);
  return Buffer.concat([hex(`00606d4b 04 03 00 ${body.length.toString(16).padStart(8, "0")}`), body]);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-munge-wire-"));
  socketPath = path.join(dir, "fake.socket");
  server = net.createServer((conn) => {
    const chunks: Buffer[] = [];
    conn.on("data", (c) => chunks.push(c));
    // The client half-closes after its request, so a complete request ends with "end".
    conn.on("end", () => {
      const request = Buffer.concat(chunks);
      requests.push(request);
      const reply = respond(request);
      if (reply) conn.end(reply);
      else conn.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  requests = [];
  respond = () => undefined;
});

describe("MUNGE wire format", () => {
  it("sends the documented encode request for payload 'hello' and strips the credential's NUL", async () => {
    respond = () => encodeReply(CRED);
    const cred = await mungeEncode({ socketPath, payload: Buffer.from("hello") });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.toString("hex")).toBe(ENCODE_HELLO.toString("hex"));
    expect(cred).toBe(CRED);
  });

  it("sends the credential plus a NUL and parses the documented decode reply", async () => {
    respond = () => DECODE_REPLY;
    const result = await mungeDecode(CRED, { socketPath });
    const body = Buffer.concat([hex((CRED.length + 1).toString(16).padStart(8, "0")), Buffer.from(`${CRED}\0`)]);
    const header = hex(`00606d4b 04 04 00 ${body.length.toString(16).padStart(8, "0")}`);
    expect(requests[0]!.toString("hex")).toBe(Buffer.concat([header, body]).toString("hex"));
    expect(result).toEqual({
      uid: 0,
      gid: 0,
      encodeTime: 0x6b0f858f,
      decodeTime: 0x6b0f858f,
      ttl: 300,
      addr: "127.0.0.1",
      payload: Buffer.from("hello"),
    });
  });

  it("throws the daemon's error number and text for a replayed credential, although it carries fields", async () => {
    respond = () => DECODE_REPLAYED;
    const err = await mungeDecode(CRED, { socketPath }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MungeError);
    expect((err as MungeError).code).toBe(17);
    expect((err as MungeError).message).toContain("Replayed credential");
  });

  it("parses u32 fields as unsigned", async () => {
    const reply = Buffer.from(DECODE_REPLY);
    reply.writeUInt32BE(0xfffffffe, UID_OFFSET);
    respond = () => reply;
    expect((await mungeDecode(CRED, { socketPath })).uid).toBe(4294967294);
  });

  it("resends on a fresh connection with the header retry field set only on the resend", async () => {
    let calls = 0;
    respond = () => (++calls === 1 ? undefined : DECODE_REPLY);
    await mungeDecode(CRED, { socketPath });
    expect(requests.map((r) => r[6])).toEqual([0, 1]);
    expect(requests[1]!.subarray(7)).toEqual(requests[0]!.subarray(7));
  });

  it("gives up after 5 attempts when replies have a bad magic", async () => {
    respond = () => Buffer.concat([hex("00606d4c"), DECODE_REPLY.subarray(4)]);
    const err = await mungeDecode(CRED, { socketPath }).catch((e: unknown) => e);
    expect((err as MungeError).code).toBe(6);
    expect((err as MungeError).message).toMatch(/5 attempts.*bad magic/);
    expect(requests.map((r) => r[6])).toEqual([0, 1, 2, 3, 4]);
  });

  it("does not retry a well-formed reply of the wrong length and reports it as malformed", async () => {
    const short = Buffer.from(DECODE_REPLY);
    short.writeUInt32BE(0x30 - 5, 7); // drops the payload bytes from the body
    respond = () => short.subarray(0, short.length - 5);
    const err = await mungeDecode(CRED, { socketPath }).catch((e: unknown) => e);
    expect((err as MungeError).message).toMatch(/malformed decode reply/);
    expect(requests).toHaveLength(1);
  });

  it("times out on a daemon that never answers", async () => {
    const silent = net.createServer(() => {});
    const silentPath = path.join(dir, "silent.socket");
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
    try {
      const err = await mungeEncode({ socketPath: silentPath, timeoutMs: 300 }).catch((e: unknown) => e);
      expect((err as MungeError).code).toBe(6);
      expect((err as MungeError).message).toContain("within 300 ms");
    } finally {
      silent.close();
    }
  });

  it("rejects non-credentials and oversize credentials without connecting", async () => {
    for (const bad of ["", "MUNGE::", "hello", `${CRED}\n`, "MUNGE:é:", `MUNGE:${"A".repeat(70_000)}:`]) {
      await expect(mungeDecode(bad, { socketPath })).rejects.toBeInstanceOf(MungeError);
    }
    expect(requests).toHaveLength(0);
  });

  it("names the socket when munged is not there", async () => {
    const missing = path.join(dir, "missing.socket");
    await expect(mungeEncode({ socketPath: missing })).rejects.toThrow(`munge: cannot reach munged at ${missing}: ENOENT (is munged running?)`);
  });
});
