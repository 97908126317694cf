// What one fuzz call sends: a request built from the method's schema with extreme values, often broken on purpose
// at the wire level, in the gRPC framing or in its credentials. Deterministic: the same seed gives the same call.
//
// Mutated requests can be valid and then really run, some as root: whatever may name a file or a command is drawn
// only from harmless values (paths inside the fuzzer's scratch directory, commands such as `true`), and no
// generated string contains "/" or shell metacharacters, so no job the fuzzer submits can touch the host's files.
import zlib from "node:zlib";
import { prng } from "../test/harness/prng";
import type { FieldSchema, MessageSchema, MethodSchema } from "./schema";
import * as wire from "./wire";

export interface FuzzContext {
  nodes: string[];
  /** Node name -> key. Given only to the root client: the others cannot have read the keys. */
  nodeKeys: Record<string, string>;
  partitions: string[];
  users: string[];
  /** A world-writable directory: the only place a generated path points to. */
  scratchDir: string;
  /** The job ids the cluster has handed out so far (about): ids around it reach existing jobs. */
  maxJobId: number;
}

export type Transport = "grpc" | "http2";

export interface CallPlan {
  /** The mutation's name, for the per-mutation tally. */
  mutation: string;
  transport: Transport;
  /** grpc: the message, sent as is with identity serializers. */
  body: Buffer;
  /** http2: exactly the DATA sent after the request headers, gRPC length prefixes included (or not). */
  frames: Buffer;
  /** http2: request headers that replace or add to the normal ones. */
  headers: Record<string, string>;
  /** http2: reset the stream after sending instead of waiting for an answer (no answer is then expected). */
  resetAfterSend: boolean;
  metadata: [string, string | Buffer][];
}

type Rand = () => number;

const MB = 1024 * 1024;
/** What a generated message may add up to (apart from the deliberate 1 MB values), so a call stays cheap to make. */
const MESSAGE_BUDGET = 256 * 1024;

/** FNV-1a over the call's coordinates: a seed per call, so any single call can be replayed alone. */
export function callSeed(seed: number, methodId: string, identity: string, index: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${methodId}\0${identity}\0${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

class Picker {
  constructor(readonly rand: Rand) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)]!;
  }
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let r = this.rand() * choices.reduce((s, [w]) => s + w, 0);
    for (const [w, v] of choices) if ((r -= w) < 0) return v;
    return choices[choices.length - 1]![1];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.rand() * 256);
    return b;
  }
}

// ------------------------------------------------------------------------------------------------ values

const SAFE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:,=%@+[]{} ";
const SAFE_COMMANDS = ["true", "false", "exit 3", "#!/bin/sh\ntrue\n", "#!/bin/bash\nexit 0\n", "echo fuzz", "sleep 0", "\n\n\n", "#!"];
const SAFE_INTERPRETERS = ["", "/bin/sh", "/bin/bash", "/nonexistent-interpreter"];
const TRICKY_STRINGS = [
  "",
  " ",
  "a",
  "0",
  "-1",
  "4294967296",
  "18446744073709551616",
  "NaN",
  "Infinity",
  "1e309",
  "-0",
  "0x10",
  "1:00:00",
  "-1:00",
  "99999999:99:99",
  "1-00:00:00",
  "UNLIMITED",
  "2G",
  "-5M",
  "18446744073709551615K",
  "1.5T",
  "9e99G",
  "gpu",
  "gpu:sim",
  "gpu:sim:99999999999",
  "gpu::",
  ":",
  "::::",
  "gpu:-1",
  "node[1-1000000000]",
  "node[",
  "node[9-1]",
  "[]",
  "a,b,,c",
  ",,,",
  "%j%u%x%N%%%",
  "%",
  "\u0000",
  "a\u0000b",
  "\u202e\u200b",
  "é",
  "😀",
  "\r\n",
  "TCP",
  "UDP",
  "SCTP",
  "Always",
  "Never",
  "IfNotPresent",
  "busybox",
  "busybox:latest",
  "*",
  "ALL",
  "idle",
  "down",
  "drain",
  "mix",
  "alloc",
];
const ENV_KEYS = ["PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "HOME", "USER", "CRANE_JOB_ID", "SLURM_JOB_ID", "", "A=B", "1X", " ", "\u0000"];

type StringRole = "path" | "command" | "interpreter" | "envKey" | "plain";

/** Which values a string field may take, from its name: anything naming a file or a command gets harmless ones. */
function roleOf(field: FieldSchema, inMessage: string): StringRole {
  if (/Env$/.test(inMessage) && field.name === "key") return "envKey";
  if (/interpreter/i.test(field.name)) return "interpreter";
  if (/script|argv|command|args|cmdLine/i.test(field.name)) return "command";
  if (/cwd|dir|path|pattern|workdir|mount|host$|^value$/i.test(field.name) || /Env$/.test(inMessage)) return "path";
  return "plain";
}

function safeText(p: Picker, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += SAFE_ALPHABET[p.int(0, SAFE_ALPHABET.length - 1)];
  return s;
}

/** Bytes that are not valid UTF-8 (and contain neither "/" nor ASCII punctuation). */
function invalidUtf8(p: Picker): Buffer {
  return p.pick([
    Buffer.from([0xff, 0xfe, 0xfd]),
    Buffer.from([0xc0, 0x80]), // overlong NUL
    Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
    Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
    Buffer.from([0x61, 0xe2, 0x82]), // truncated sequence
    Buffer.concat([Buffer.from("job"), Buffer.from([0x80, 0x80, 0x80])]),
  ]);
}

function stringValue(p: Picker, ctx: FuzzContext, role: StringRole): Buffer {
  const long = () => Buffer.alloc(p.pick([MB, 64 * 1024, 4096 + 1]), p.pick(["a", "x", "9"]));
  switch (role) {
    case "path":
      return p.weighted<() => Buffer>([
        [2, () => Buffer.alloc(0)],
        [3, () => Buffer.from(ctx.scratchDir)],
        [4, () => Buffer.from(`${ctx.scratchDir}/${safeText(p, p.int(1, 12))}`)],
        [1, () => Buffer.concat([Buffer.from(`${ctx.scratchDir}/`), invalidUtf8(p)])],
        [1, () => Buffer.from(`${ctx.scratchDir}/${"d".repeat(p.pick([255, 256, 5000]))}`)],
        [1, () => Buffer.from(`${ctx.scratchDir}/a\u0000b`)],
      ])();
    case "command":
      return p.weighted<() => Buffer>([
        [6, () => Buffer.from(p.pick(SAFE_COMMANDS))],
        [2, () => Buffer.from(safeText(p, p.int(0, 40)).replace(/[{}[\]%=@+:,]/g, "x"))],
        [1, () => invalidUtf8(p)],
        [1, () => long()],
      ])();
    case "interpreter":
      return Buffer.from(p.pick(SAFE_INTERPRETERS));
    case "envKey":
      return p.chance(0.8) ? Buffer.from(p.pick(ENV_KEYS)) : stringValue(p, ctx, "plain");
    case "plain":
      return p.weighted<() => Buffer>([
        [5, () => Buffer.from(p.pick(TRICKY_STRINGS))],
        [3, () => Buffer.from(p.pick([...ctx.nodes, ...ctx.partitions, ...ctx.users]))],
        [3, () => Buffer.from(safeText(p, p.int(0, 64)))],
        [2, () => invalidUtf8(p)],
        [1, () => long()],
        [1, () => Buffer.from(p.pick(ctx.nodes) + p.pick(["", " ", "\u0000", "-1", "[1-2]", ",", "é"]))],
      ])();
  }
}

const POW = (e: number) => 2n ** BigInt(e);
const EXTREME_INTEGERS = [
  0n,
  1n,
  2n,
  3n,
  7n,
  100n,
  255n,
  256n,
  65535n,
  65536n,
  POW(31) - 1n,
  POW(31),
  POW(32) - 1n,
  POW(32),
  POW(53) - 1n,
  POW(53) + 1n,
  POW(63) - 1n,
  POW(63),
  POW(64) - 1n,
  -1n,
  -2n,
  -POW(31),
  -POW(63),
];
const EXTREME_DOUBLES = [0, -0, 1, 0.5, 2, 4, 1e-300, 5e-324, 1e308, Number.MAX_VALUE, Infinity, -Infinity, NaN, -1, 1e9, 4.0000001, 0.1, 1023.999];

function integerValue(p: Picker, ctx: FuzzContext, field: FieldSchema): bigint {
  if (field.kind === "enum") {
    return p.weighted<() => bigint>([
      [6, () => BigInt(p.pick(field.enumValues))],
      [1, () => BigInt(Math.max(...field.enumValues) + p.int(1, 3))],
      [1, () => p.pick([99n, -1n, POW(31) - 1n, -POW(31), POW(32)])],
    ])();
  }
  if (field.kind === "bool") return p.pick([0n, 1n, 1n, 2n, POW(64) - 1n]);
  const idLike = /jobId|stepId|^job_?ids?$|stepIds/i.test(field.name);
  const uidLike = /uid|gid|runAs/i.test(field.name);
  return p.weighted<() => bigint>([
    [idLike ? 8 : 1, () => BigInt(p.int(0, ctx.maxJobId + 3))],
    [uidLike ? 6 : 0, () => p.pick([0n, 65534n, 1000n, 54321n, POW(32) - 1n])],
    [4, () => p.pick(EXTREME_INTEGERS)],
    [3, () => BigInt(p.int(0, 16))],
    [1, () => BigInt(Math.floor(p.rand() * 2 ** 32))],
  ])();
}

// ------------------------------------------------------------------------------------------------ encoding

interface EncodeOptions {
  /** Probability that a field is broken at the wire level. */
  chaos: number;
  /** A 1 MB value, or a repeated field of very many entries, somewhere in the message. */
  huge: boolean;
  /** Collects the names of the breakages made. */
  broken: string[];
}

function isVarintKind(kind: FieldSchema["kind"]): boolean {
  return ["int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool", "enum"].includes(kind);
}

/** The encoding of one value of `field` (tag included). */
function encodeValue(
  p: Picker,
  ctx: FuzzContext,
  field: FieldSchema,
  owner: MessageSchema,
  depth: number,
  opts: EncodeOptions,
  budget: { left: number },
): Buffer {
  const n = field.number;
  switch (field.kind) {
    case "double":
      return p.chance(0.1)
        ? Buffer.concat([wire.tag(n, wire.WireType.fixed64), wire.fixed64(p.pick([0x7ff8000000000001n, 0xfff0000000000001n, POW(64) - 1n]))])
        : Buffer.concat([wire.tag(n, wire.WireType.fixed64), wire.float64(p.pick(EXTREME_DOUBLES))]);
    case "float":
      return Buffer.concat([wire.tag(n, wire.WireType.fixed32), wire.float32(p.pick(EXTREME_DOUBLES))]);
    case "fixed64":
    case "sfixed64":
      return Buffer.concat([wire.tag(n, wire.WireType.fixed64), wire.fixed64(integerValue(p, ctx, field))]);
    case "fixed32":
    case "sfixed32":
      return Buffer.concat([wire.tag(n, wire.WireType.fixed32), wire.fixed32(Number(BigInt.asUintN(32, integerValue(p, ctx, field))))]);
    case "string":
    case "bytes": {
      const value = field.kind === "bytes" ? p.bytes(p.int(0, 64)) : stringValue(p, ctx, roleOf(field, owner.name));
      const kept = value.length > budget.left && !opts.huge ? value.subarray(0, Math.max(0, budget.left)) : value;
      budget.left -= kept.length;
      return wire.lengthDelimited(n, kept);
    }
    case "message": {
      const inner = depth > 6 ? Buffer.alloc(0) : encodeMessage(p, ctx, field.message!(), depth + 1, opts, budget);
      return wire.lengthDelimited(n, inner);
    }
    default:
      return Buffer.concat([wire.tag(n, wire.WireType.varint), wire.varint(integerValue(p, ctx, field))]);
  }
}

/** One field broken on purpose: a wrong wire type, an impossible length or varint, a number no field has, deep groups. */
function brokenField(p: Picker, field: FieldSchema): { name: string; bytes: Buffer } {
  const n = field.number;
  return p.weighted<() => { name: string; bytes: Buffer }>([
    [
      3,
      () => ({
        name: "wrong-wire-type",
        bytes: Buffer.concat([wire.tag(n, p.pick([0, 1, 2, 5].filter((t) => t !== wireTypeOf(field)))), p.bytes(p.int(0, 9))]),
      }),
    ],
    [1, () => ({ name: "invalid-wire-type", bytes: Buffer.concat([wire.tag(n, p.pick([6, 7])), p.bytes(4)]) })],
    [1, () => ({ name: "field-zero", bytes: Buffer.concat([wire.tag(0, 0), wire.varint(1n)]) })],
    [1, () => ({ name: "unknown-field", bytes: wire.lengthDelimited(p.pick([2 ** 29 - 1, 19000, 1000, 99]), p.bytes(p.int(0, 32))) })],
    [2, () => ({ name: "overlong-varint", bytes: Buffer.concat([wire.tag(n, 0), wire.overlongVarint(p.int(0, 100), p.pick([3, 9, 12, 40]))]) })],
    [2, () => ({ name: "lying-length", bytes: wire.lyingLength(n, p.bytes(p.int(0, 8)), p.pick([9, 1000, 2 ** 31, 2 ** 32 + 5])) })],
    [1, () => ({ name: "nested-groups", bytes: wire.nestedGroups(p.pick([n, 77]), p.pick([100, 5000, 100_000]), p.chance(0.5)) })],
    [1, () => ({ name: "end-group-alone", bytes: wire.tag(n, wire.WireType.endGroup) })],
  ])();
}

function wireTypeOf(field: FieldSchema): number {
  if (isVarintKind(field.kind)) return wire.WireType.varint;
  if (["double", "fixed64", "sfixed64"].includes(field.kind)) return wire.WireType.fixed64;
  if (["float", "fixed32", "sfixed32"].includes(field.kind)) return wire.WireType.fixed32;
  return wire.WireType.lengthDelimited;
}

function encodeMessage(p: Picker, ctx: FuzzContext, schema: MessageSchema, depth: number, opts: EncodeOptions, budget: { left: number }): Buffer {
  const parts: Buffer[] = [];
  const presence = depth === 0 ? 0.85 : schema.mapEntry ? 0.9 : 0.45;
  for (const field of schema.fields) {
    if (!p.chance(presence) || budget.left <= 0) continue;
    if (opts.chaos > 0 && p.chance(opts.chaos)) {
      const broken = brokenField(p, field);
      opts.broken.push(broken.name);
      parts.push(broken.bytes);
      continue;
    }
    let count = field.repeated
      ? p.weighted([
          [5, p.int(1, 3)],
          [2, 0],
          [1, p.int(4, 40)],
          [opts.huge ? 3 : 0.2, p.int(1000, 20_000)],
        ])
      : 1;
    // A non-repeated field given several times is legal (the last one wins, messages merge): decoders must cope.
    if (!field.repeated && p.chance(0.03)) count = p.int(2, opts.huge ? 5000 : 50);
    if (field.repeated && isVarintKind(field.kind) && count > 0 && p.chance(0.5)) {
      const packed = Buffer.concat(Array.from({ length: count }, () => wire.varint(integerValue(p, ctx, field))));
      budget.left -= packed.length;
      parts.push(wire.lengthDelimited(field.number, packed));
      continue;
    }
    for (let i = 0; i < count && budget.left > 0; i++) {
      const encoded = encodeValue(p, ctx, field, schema, depth, opts, budget);
      budget.left -= Math.min(encoded.length, 64);
      parts.push(encoded);
    }
  }
  // Fields in any order are legal too.
  if (p.chance(0.2)) parts.reverse();
  return Buffer.concat(parts);
}

/** A message of the schema's shape with extreme values; chaos > 0 also breaks fields at the wire level. */
function generateMessage(p: Picker, ctx: FuzzContext, schema: MessageSchema, opts: EncodeOptions): Buffer {
  return encodeMessage(p, ctx, schema, 0, opts, { left: MESSAGE_BUDGET });
}

// ------------------------------------------------------------------------------------------------ framing

/** gRPC's length-prefixed message: compressed flag, 4-byte big-endian length, body. */
export function grpcFrame(body: Buffer, flag = 0, claimedLength = body.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(claimedLength >>> 0, 1);
  return Buffer.concat([prefix, body]);
}

let gzipBomb: Buffer | undefined;
/** 64 MiB of zeros, gzipped to about 64 KiB: over every server's receive limit once inflated. */
function zipBomb(): Buffer {
  gzipBomb ??= zlib.gzipSync(Buffer.alloc(64 * MB), { level: 9 });
  return gzipBomb;
}

function framingMutation(p: Picker, body: Buffer): Pick<CallPlan, "mutation" | "frames" | "headers" | "resetAfterSend"> {
  const plain = { headers: {}, resetAfterSend: false };
  return p.weighted<() => Pick<CallPlan, "mutation" | "frames" | "headers" | "resetAfterSend">>([
    [3, () => ({ ...plain, mutation: "frame-truncated", frames: grpcFrame(body, 0, body.length + p.int(1, 100_000)) })],
    [1, () => ({ ...plain, mutation: "frame-prefix-cut", frames: grpcFrame(body).subarray(0, p.int(1, 4)) })],
    [1, () => ({ ...plain, mutation: "frame-length-4g", frames: grpcFrame(body.subarray(0, 16), 0, 0xffffffff) })],
    [1, () => ({ ...plain, mutation: "frame-no-message", frames: Buffer.alloc(0) })],
    [1, () => ({ ...plain, mutation: "frame-two-messages", frames: Buffer.concat([grpcFrame(body), grpcFrame(body)]) })],
    [1, () => ({ ...plain, mutation: "frame-bad-flag", frames: grpcFrame(body, p.pick([2, 0x7f, 0xff])) })],
    [1, () => ({ ...plain, mutation: "frame-compressed-no-encoding", frames: grpcFrame(body, 1) })],
    [1, () => ({ ...plain, mutation: "frame-bad-gzip", frames: grpcFrame(body, 1), headers: { "grpc-encoding": "gzip" } })],
    [1, () => ({ ...plain, mutation: "frame-unknown-encoding", frames: grpcFrame(body, 1), headers: { "grpc-encoding": p.pick(["br", "zstd", "x"]) } })],
    [1, () => ({ ...plain, mutation: "frame-gzip-bomb", frames: grpcFrame(zipBomb(), 1), headers: { "grpc-encoding": "gzip" } })],
    [
      1,
      () => ({ ...plain, mutation: "frame-bad-timeout", frames: grpcFrame(body), headers: { "grpc-timeout": p.pick(["abc", "999999999S", "-1m", "1X", ""]) } }),
    ],
    [
      1,
      () => ({
        ...plain,
        mutation: "frame-bad-content-type",
        frames: grpcFrame(body),
        headers: { "content-type": p.pick(["text/plain", "application/grpc+json", ""]) },
      }),
    ],
    [1, () => ({ ...plain, mutation: "frame-reset-midway", frames: grpcFrame(body, 0, body.length + 10), resetAfterSend: true })],
  ])();
}

// ------------------------------------------------------------------------------------------------ credentials

function credentials(p: Picker, ctx: FuzzContext, method: MethodSchema, requestNode: string | undefined): [string, string | Buffer][] {
  const realNodes = Object.keys(ctx.nodeKeys);
  if (method.endpoint === "ctld") {
    // ctld's public service takes the caller from the kernel: headers claiming another identity must change nothing.
    return p.weighted<() => [string, string | Buffer][]>([
      [6, () => []],
      [
        1,
        () => [
          ["x-crane-uid", "0"],
          ["x-crane-gid", "0"],
        ],
      ],
      [1, () => [["x-crane-munge", p.pick(["MUNGE:", "MUNGE:AwQDAAA=:", "x".repeat(4096), p.bytes(48).toString("base64")])]]],
      [
        1,
        () =>
          realNodes.length
            ? [
                ["x-crane-node", realNodes[0]!],
                ["x-crane-node-key", ctx.nodeKeys[realNodes[0]!]!],
              ]
            : [["x-crane-node", "n"]],
      ],
      [
        1,
        () => [
          ["x-crane-user-bin", p.bytes(p.int(0, 64))],
          ["x-crane-uid", "-1"],
        ],
      ],
    ])();
  }
  const node = requestNode ?? realNodes[0] ?? ctx.nodes[0] ?? "";
  const key = ctx.nodeKeys[node];
  return p.weighted<() => [string, string | Buffer][]>([
    [
      key ? 6 : 0,
      () => [
        ["x-crane-node", node],
        ["x-crane-node-key", key!],
      ],
    ],
    [1, () => []],
    [1, () => [["x-crane-node", node]]],
    [
      1,
      () => [
        ["x-crane-node", node],
        ["x-crane-node-key", p.bytes(32).toString("hex")],
      ],
    ],
    [
      1,
      () => [
        ["x-crane-node", node],
        ["x-crane-node-key", (key ?? "").slice(0, p.int(0, 63))],
      ],
    ],
    [
      1,
      () => [
        ["x-crane-node", `${node}x`],
        ["x-crane-node-key", key ?? "0".repeat(64)],
      ],
    ],
    [
      1,
      () => [
        ["x-crane-node", node],
        ["x-crane-node", "other"],
        ["x-crane-node-key", key ?? ""],
        ["x-crane-node-key", "0".repeat(64)],
      ],
    ],
    [
      1,
      () => [
        ["x-crane-node", ""],
        ["x-crane-node-key", ""],
      ],
    ],
  ])();
}

// ------------------------------------------------------------------------------------------------ the plan

/** The field `node` of the request, when the generator set it: the node a valid credential should name. */
function nodeField(method: MethodSchema): FieldSchema | undefined {
  return method.request.fields.find((f) => f.name === "node" && f.kind === "string");
}

export function planCall(method: MethodSchema, ctx: FuzzContext, seed: number): CallPlan {
  const p = new Picker(prng(seed));
  const broken: string[] = [];
  const structured = (chaos: number, huge = false) => generateMessage(p, ctx, method.request, { chaos, huge, broken });
  const base = { transport: "grpc" as Transport, frames: Buffer.alloc(0), headers: {}, resetAfterSend: false };
  const choice = p.weighted<() => Pick<CallPlan, "mutation" | "body"> & Partial<CallPlan>>([
    [40, () => ({ mutation: "structured", body: structured(0) })],
    [14, () => ({ mutation: "wire-chaos", body: structured(0.25) })],
    [
      8,
      () => {
        const whole = structured(0);
        return { mutation: "truncated", body: whole.subarray(0, whole.length ? p.int(0, whole.length - 1) : 0) };
      },
    ],
    [
      7,
      () => {
        const body = Buffer.from(structured(0));
        for (let i = p.int(1, 8); i > 0 && body.length; i--) {
          const at = p.int(0, body.length - 1);
          body[at] = body[at]! ^ (1 << p.int(0, 7));
        }
        return { mutation: "bit-flips", body };
      },
    ],
    [
      9,
      () => ({
        mutation: "garbage",
        body: p.bytes(
          p.weighted([
            [6, p.int(1, 64)],
            [3, p.int(65, 4096)],
            [1, MB],
          ]),
        ),
      }),
    ],
    [5, () => ({ mutation: "huge", body: structured(0, true) })],
    [2, () => ({ mutation: "empty", body: Buffer.alloc(0) })],
    [
      10,
      () => {
        const body = structured(p.chance(0.3) ? 0.2 : 0);
        return { body, transport: "http2", ...framingMutation(p, body) };
      },
    ],
  ])();
  // A valid node credential names the node the request speaks for (ctld checks that they are the same).
  const field = nodeField(method);
  let requestNode: string | undefined;
  if (field && choice.mutation === "structured" && p.chance(0.7)) {
    requestNode = p.pick(Object.keys(ctx.nodeKeys).length ? Object.keys(ctx.nodeKeys) : ctx.nodes);
    choice.body = Buffer.concat([choice.body, wire.lengthDelimited(field.number, Buffer.from(requestNode))]);
  }
  const metadata = credentials(p, ctx, method, requestNode);
  const mutation = broken.length && choice.mutation === "wire-chaos" ? `wire-chaos:${broken[0]}` : choice.mutation;
  return { ...base, ...choice, mutation, metadata };
}
