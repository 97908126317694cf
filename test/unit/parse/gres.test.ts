import { describe, it, expect } from "vitest";
import { formatGres, parseGpusPerNode, parseGres } from "../../../src/core/parse/gres.js";
import { ParseError } from "../../../src/core/parse/errors.js";

describe("parseGres", () => {
  it("parses name:count and name:type:count lists", () => {
    expect(parseGres("gpu:2")).toEqual({ gpu: 2 });
    expect(parseGres("gpu:a100:2,nic:1")).toEqual({ "gpu:a100": 2, nic: 1 });
    expect(parseGres("gpu:a100:1,gpu:v100:3")).toEqual({ "gpu:a100": 1, "gpu:v100": 3 });
  });

  it("skips zero counts, empty items and surrounding spaces", () => {
    expect(parseGres("gpu:0,nic:1")).toEqual({ nic: 1 });
    expect(parseGres(" gpu:1 , ")).toEqual({ gpu: 1 });
    expect(parseGres("")).toEqual({});
  });

  it("reports a bad count in the two-field form", () => {
    expect(() => parseGres("gpu:x")).toThrow(ParseError);
    expect(() => parseGres("gpu:x")).toThrow("error parsing gres count: gpu:x (");
    expect(() => parseGres("gpu:-1")).toThrow("error parsing gres count: gpu:-1");
  });

  it("reports a bad count in the three-field form", () => {
    expect(() => parseGres("gpu:a100:two")).toThrow('Error parsing count for gpu: "two" is not a whole number');
  });

  it.each(["gpu", "gpu:a:b:1", ":1", "gpu::1", "g p u:1"])("rejects the malformed item %j", (item) => {
    expect(() => parseGres(item)).toThrow(`Error parsing gres: ${item} (`);
  });

  it("rejects an entry given twice", () => {
    expect(() => parseGres("gpu:1,gpu:2")).toThrow(/gpu is listed twice/);
  });
});

describe("parseGpusPerNode", () => {
  it("maps a plain count to gpu", () => {
    expect(parseGpusPerNode("4")).toEqual({ gpu: 4 });
  });

  it("maps typed counts to gpu:type", () => {
    expect(parseGpusPerNode("a100:2")).toEqual({ "gpu:a100": 2 });
    expect(parseGpusPerNode("a100:2,v100:1")).toEqual({ "gpu:a100": 2, "gpu:v100": 1 });
  });

  it.each(["", "0", "a100:0", "x", "2,a100:1", "a100:1,2", "a100", "a100:1,a100:2", ":1", "a:b:1"])("rejects %j", (input) => {
    expect(() => parseGpusPerNode(input)).toThrow(ParseError);
    expect(() => parseGpusPerNode(input)).toThrow(`invalid --gpus-per-node "${input}"`);
  });

  it("explains mixing plain and typed counts", () => {
    expect(() => parseGpusPerNode("2,a100:1")).toThrow(/mixes a plain count/);
  });
});

describe("formatGres", () => {
  it("formats sorted name[:type]:count entries", () => {
    expect(formatGres({ nic: 1, "gpu:a100": 2 })).toBe("gpu:a100:2,nic:1");
    expect(formatGres({})).toBe("");
  });

  it("round-trips with parseGres", () => {
    expect(parseGres(formatGres({ "gpu:a100": 2, fpga: 1 }))).toEqual({ "gpu:a100": 2, fpga: 1 });
  });
});
