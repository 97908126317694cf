// A protobuf wire-format writer that also writes what a correct encoder never would: overlong varints, wrong wire
// types, field number 0, lengths that point past the end, unterminated groups.

export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const UINT64_MASK = (1n << 64n) - 1n;

/** Base-128 varint of the value's low 64 bits (a negative number is written as its two's complement: 10 bytes). */
export function varint(value: bigint | number): Buffer {
  let v = BigInt.asUintN(64, typeof value === "bigint" ? value : BigInt(Math.trunc(value))) & UINT64_MASK;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** A varint with `extra` continuation bytes more than needed (legal up to 10 bytes in all, invalid beyond). */
export function overlongVarint(value: number, extra: number): Buffer {
  const plain = [...varint(value)];
  plain[plain.length - 1]! |= 0x80;
  for (let i = 1; i < extra; i++) plain.push(0x80);
  plain.push(0);
  return Buffer.from(plain);
}

export function tag(fieldNumber: number, wireType: number): Buffer {
  return varint(BigInt(fieldNumber) * 8n + BigInt(wireType & 7));
}

export function fixed32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

export function fixed64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, value));
  return b;
}

export function float64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return b;
}

export function float32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  return b;
}

export function lengthDelimited(fieldNumber: number, body: Buffer): Buffer {
  return Buffer.concat([tag(fieldNumber, WireType.lengthDelimited), varint(body.length), body]);
}

/** A length-delimited field whose length claims `claimed` bytes while only `body` follows. */
export function lyingLength(fieldNumber: number, body: Buffer, claimed: number): Buffer {
  return Buffer.concat([tag(fieldNumber, WireType.lengthDelimited), varint(claimed), body]);
}

/** `depth` start-group tags nested in each other, closed again only when `closed` (a decoder recursing per level). */
export function nestedGroups(fieldNumber: number, depth: number, closed: boolean): Buffer {
  const open = tag(fieldNumber, WireType.startGroup);
  const close = tag(fieldNumber, WireType.endGroup);
  return Buffer.concat([
    Buffer.concat(Array.from({ length: depth }, () => open)),
    closed ? Buffer.concat(Array.from({ length: depth }, () => close)) : Buffer.alloc(0),
  ]);
}
