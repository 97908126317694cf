// HPACK (RFC 7541), as much of it as a gRPC client needs: a full decoder (static and dynamic tables, Huffman
// strings), and an encoder that never indexes and never Huffman-codes, which every decoder must accept and which
// leaves the server's table of our headers empty.
import { huffmanDecode } from "./huffman";

export type HeaderList = [name: string, value: string][];

/** The static table (RFC 7541, appendix A); index 1 is the first entry. Names without a value have "". */
const STATIC_TABLE: readonly [string, string][] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ...[
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "accept",
    "access-control-allow-origin",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "link",
    "location",
    "max-forwards",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "transfer-encoding",
    "user-agent",
    "vary",
    "via",
    "www-authenticate",
  ].map((name): [string, string] => [name, name === "accept-encoding" ? "gzip, deflate" : ""]),
];

/** What an entry costs of a dynamic table's size (RFC 7541, 4.1). */
const entrySize = (name: string, value: string) => Buffer.byteLength(name) + Buffer.byteLength(value) + 32;

export class HpackError extends Error {}

/** Decodes the header blocks of one connection, in the order they came (each may change the dynamic table). */
export class HpackDecoder {
  /** Newest first. */
  private readonly dynamic: [string, string][] = [];
  private size = 0;
  private maxSize: number;

  /** @param limit the table size this end announced (SETTINGS_HEADER_TABLE_SIZE); updates may not exceed it */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  decode(block: Uint8Array): HeaderList {
    const headers: HeaderList = [];
    let pos = 0;
    const integer = (prefixBits: number): number => {
      if (pos >= block.length) throw new HpackError("HPACK: truncated integer");
      const max = 2 ** prefixBits - 1;
      let value = block[pos++]! & max;
      if (value < max) return value;
      for (let shift = 0; ; shift += 7) {
        if (pos >= block.length || shift > 28) throw new HpackError("HPACK: truncated or oversized integer");
        const b = block[pos++]!;
        value += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) return value;
      }
    };
    const string = (): string => {
      if (pos >= block.length) throw new HpackError("HPACK: truncated string");
      const huffman = (block[pos]! & 0x80) !== 0;
      const length = integer(7);
      if (pos + length > block.length) throw new HpackError("HPACK: truncated string");
      const bytes = block.subarray(pos, (pos += length));
      return (huffman ? huffmanDecode(bytes) : Buffer.from(bytes)).toString("latin1");
    };
    const entry = (index: number): [string, string] => {
      const e = index >= 1 && index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : this.dynamic[index - STATIC_TABLE.length - 1];
      if (!e) throw new HpackError(`HPACK: no table entry ${index}`);
      return e;
    };
    while (pos < block.length) {
      const first = block[pos]!;
      if (first & 0x80) {
        headers.push([...entry(integer(7))]);
      } else if ((first & 0xe0) === 0x20) {
        const size = integer(5);
        if (size > this.limit) throw new HpackError(`HPACK: table size ${size} above the ${this.limit} announced`);
        this.maxSize = size;
        this.evict(0);
      } else {
        // Literals: with incremental indexing (01), without indexing (0000) or never indexed (0001).
        const indexed = (first & 0xc0) === 0x40;
        const nameIndex = integer(indexed ? 6 : 4);
        const name = nameIndex === 0 ? string() : entry(nameIndex)[0];
        const value = string();
        headers.push([name, value]);
        if (indexed) this.add(name, value);
      }
    }
    return headers;
  }

  private add(name: string, value: string): void {
    const size = entrySize(name, value);
    this.evict(size);
    // An entry larger than the whole table empties it and is not added (RFC 7541, 4.4).
    if (size > this.maxSize) return;
    this.dynamic.unshift([name, value]);
    this.size += size;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.dynamic.length > 0 && this.size + room > this.maxSize) {
      const [name, value] = this.dynamic.pop()!;
      this.size -= entrySize(name, value);
    }
  }
}

function encodeInteger(out: number[], firstBits: number, prefixBits: number, value: number): void {
  const max = 2 ** prefixBits - 1;
  if (value < max) {
    out.push(firstBits | value);
    return;
  }
  out.push(firstBits | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function encodeString(out: number[], text: string): void {
  const bytes = Buffer.from(text, "latin1");
  encodeInteger(out, 0, 7, bytes.length);
  for (const b of bytes) out.push(b);
}

const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
});

/** A header block of literals without indexing (names from the static table where it has them). */
export function encodeHeaders(headers: HeaderList): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const index = STATIC_NAME_INDEX.get(name);
    encodeInteger(out, 0x00, 4, index ?? 0);
    if (index === undefined) encodeString(out, name);
    encodeString(out, value);
  }
  return Buffer.from(out);
}
