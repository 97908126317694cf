// HPACK against the examples of RFC 7541 (appendix C.4: requests with Huffman-coded strings, on one connection, so
// that each block leans on the dynamic table the ones before it built), and crane's encoder against its decoder.
import { describe, expect, it } from "vitest";
import { encodeHeaders, HpackDecoder, HpackError } from "../../../src/core/rpc/h2/hpack";
import { huffmanDecode } from "../../../src/core/rpc/h2/huffman";

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ""), "hex");

describe("HpackDecoder", () => {
  it("decodes the RFC's three requests in a row, each using the table the one before left", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ]);
    expect(d.decode(hex("8286 84be 5886 a8eb 1064 9cbf"))).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ]);
    expect(d.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"))).toEqual([
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ]);
  });

  it("evicts the oldest entries when a size update shrinks the table", () => {
    const d = new HpackDecoder();
    d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")); // :authority www.example.com is entry 62
    expect(d.decode(hex("be"))).toEqual([[":authority", "www.example.com"]]);
    // Size update to 0 (001 00000), then a reference to the evicted entry.
    expect(() => d.decode(hex("20 be"))).toThrow(HpackError);
  });

  it("refuses a table size above the announced one, and truncated input", () => {
    expect(() => new HpackDecoder(4096).decode(hex("3fe13f"))).toThrow(/above/); // 8192
    expect(() => new HpackDecoder().decode(hex("0485 f1e3"))).toThrow(/truncated/);
  });
});

describe("huffmanDecode", () => {
  it("refuses padding that is not all ones, and padding of 8 bits or more", () => {
    expect(huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff")).toString()).toBe("www.example.com");
    expect(() => huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4fe"))).toThrow(/padding/);
    expect(() => huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff ff"))).toThrow(/padding/);
  });
});

describe("encodeHeaders", () => {
  it("writes literals that decode to the same list, long values and names outside the static table included", () => {
    const headers: [string, string][] = [
      [":method", "POST"],
      [":path", "/crane.grpc.CraneCtld/SubmitBatchJob"],
      ["content-type", "application/grpc"],
      ["x-crane-munge", "M".repeat(1000)],
      ["grpc-timeout", "10000m"],
    ];
    const block = encodeHeaders(headers);
    const d = new HpackDecoder();
    expect(d.decode(block)).toEqual(headers);
    // Nothing was indexed: a second decoder state would not differ (entry 62 does not exist).
    expect(() => d.decode(hex("be"))).toThrow(HpackError);
  });
});
