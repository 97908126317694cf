import { describe, it, expect } from "vitest";
import { formatMemoryMiB, parseMemory } from "../../../src/core/parse/memory.js";
import { ParseError } from "../../../src/core/parse/errors.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

describe("parseMemory", () => {
  it("treats a bare number as MiB", () => {
    expect(parseMemory("512")).toBe(512 * MiB);
    expect(parseMemory("0")).toBe(0);
  });

  it("accepts single-letter units in either case", () => {
    expect(parseMemory("4K")).toBe(4 * KiB);
    expect(parseMemory("4k")).toBe(4 * KiB);
    expect(parseMemory("3m")).toBe(3 * MiB);
    expect(parseMemory("2G")).toBe(2 * GiB);
    expect(parseMemory("1T")).toBe(TiB);
    expect(parseMemory("100B")).toBe(100);
    expect(parseMemory("100b")).toBe(100);
  });

  it("accepts KB/MB/GB/TB and KiB/MiB/GiB/TiB as 1024-based units", () => {
    expect(parseMemory("2GB")).toBe(2 * GiB);
    expect(parseMemory("2gb")).toBe(2 * GiB);
    expect(parseMemory("512MiB")).toBe(512 * MiB);
    expect(parseMemory("8KB")).toBe(8 * KiB);
    expect(parseMemory("1TiB")).toBe(TiB);
    expect(parseMemory("1tb")).toBe(TiB);
  });

  it("accepts decimals and rounds down to whole bytes", () => {
    expect(parseMemory("1.5G")).toBe(1.5 * GiB);
    expect(parseMemory("0.5K")).toBe(512);
    expect(parseMemory("1.0001K")).toBe(1024);
  });

  it("ignores surrounding whitespace", () => {
    expect(parseMemory(" 1G ")).toBe(GiB);
  });

  it.each(["", "G", "-1G", "1.G", ".5G", "1e3", "2XB", "1 G", "1GiBs", "abc"])("rejects %j", (input) => {
    expect(() => parseMemory(input)).toThrow(ParseError);
    expect(() => parseMemory(input)).toThrow(/^invalid memory format: /);
  });

  it("says how to write a valid size", () => {
    expect(() => parseMemory("2XB")).toThrow(/e\.g\. 512M or 1\.5G/);
  });

  it("rejects sizes too large to represent exactly", () => {
    expect(() => parseMemory("99999999999999999T")).toThrow(/too large/);
  });
});

describe("formatMemoryMiB", () => {
  it("shows whole MiB with an M suffix", () => {
    expect(formatMemoryMiB(2 * GiB)).toBe("2048M");
    expect(formatMemoryMiB(MiB)).toBe("1M");
  });

  it("rounds down", () => {
    expect(formatMemoryMiB(MiB + MiB - 1)).toBe("1M");
  });

  it("shows 0 for nothing, less than 1 MiB, or invalid input", () => {
    expect(formatMemoryMiB(0)).toBe("0");
    expect(formatMemoryMiB(512 * KiB)).toBe("0");
    expect(formatMemoryMiB(-5)).toBe("0");
    expect(formatMemoryMiB(Number.NaN)).toBe("0");
  });

  it("round-trips with parseMemory", () => {
    expect(formatMemoryMiB(parseMemory("3G"))).toBe("3072M");
  });
});
