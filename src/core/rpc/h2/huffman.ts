// HPACK's Huffman code (RFC 7541, appendix B), which a server may use for any string of a header block. The code is
// canonical: it follows from each symbol's code length alone, so only the 257 lengths are kept (symbols 0-255 and
// EOS, as letters: A = 5 bits ... Z = 30 bits).
const CODE_LENGTHS =
  "ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHFIBCCCCCCCCCCCCCCCCCCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJI" +
  "XPRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQSRRTQRSSQQRQSRSSPRRRSRRSVVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWWWVZ";
const EOS = 256;
const MAX_LENGTH = 30;

/**
 * The canonical decoding tables: for each length, the first code of that length, how many codes have it, and where
 * its symbols start in `symbols` (all symbols ordered by length, then value).
 */
const tables = (() => {
  const length = (s: number) => CODE_LENGTHS.charCodeAt(s) - 60;
  const symbols = Array.from({ length: EOS + 1 }, (_, s) => s).sort((a, b) => length(a) - length(b) || a - b);
  const count = new Array<number>(MAX_LENGTH + 1).fill(0);
  for (const s of symbols) count[length(s)]!++;
  const firstCode = new Array<number>(MAX_LENGTH + 1).fill(0);
  const offset = new Array<number>(MAX_LENGTH + 1).fill(0);
  let code = 0;
  let index = 0;
  for (let len = 1; len <= MAX_LENGTH; len++) {
    firstCode[len] = code;
    offset[len] = index;
    code = (code + count[len]!) * 2;
    index += count[len]!;
  }
  return { symbols, count, firstCode, offset };
})();

/** Decodes a Huffman-coded string; throws on EOS inside it or padding that is not a prefix of EOS (all ones, < 8 bits). */
export function huffmanDecode(input: Uint8Array): Buffer {
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const i = code - tables.firstCode[len]!;
      if (i >= 0 && i < tables.count[len]!) {
        const symbol = tables.symbols[tables.offset[len]! + i]!;
        if (symbol === EOS) throw new Error("HPACK: EOS inside a Huffman-coded string");
        out.push(symbol);
        code = 0;
        len = 0;
      } else if (len >= MAX_LENGTH) throw new Error("HPACK: invalid Huffman code");
    }
  }
  if (len >= 8 || code !== 2 ** len - 1) throw new Error("HPACK: invalid Huffman padding");
  return Buffer.from(out);
}
