import { describe, it, expect } from "vitest";
import { compressHostlist, expandHostlist, parseNodeNameList } from "../../../src/core/parse/hostlist.js";
import { ParseError } from "../../../src/core/parse/errors.js";

describe("expandHostlist", () => {
  it("expands ranges and keeps zero padding", () => {
    expect(expandHostlist("cn[01-03,07],gpu1")).toEqual(["cn01", "cn02", "cn03", "cn07", "gpu1"]);
    // Each range has its own width, as in Slurm: `7` stays unpadded.
    expect(expandHostlist("cn[01-03,7]")).toEqual(["cn01", "cn02", "cn03", "cn7"]);
    expect(expandHostlist("cn[8-11]")).toEqual(["cn8", "cn9", "cn10", "cn11"]);
    expect(expandHostlist("cn[098-101]")).toEqual(["cn098", "cn099", "cn100", "cn101"]);
  });

  it("handles plain names, suffixes and several bracket groups", () => {
    expect(expandHostlist("login")).toEqual(["login"]);
    expect(expandHostlist("cn[1-2]-ib")).toEqual(["cn1-ib", "cn2-ib"]);
    expect(expandHostlist("r[1-2]n[1-2]")).toEqual(["r1n1", "r1n2", "r2n1", "r2n2"]);
  });

  it("ignores empty items and spaces around items", () => {
    expect(expandHostlist(" a, ,b ")).toEqual(["a", "b"]);
    expect(expandHostlist("")).toEqual([]);
  });

  it.each([
    ["cn[1-3", "'[' without a matching ']'"],
    ["cn1-3]", "']' without a matching '['"],
    ["cn[[1-2]]", "nested brackets are not supported"],
    ["cn[3-1]", 'range "3-1" goes backwards'],
    ["cn[a-b]", 'bad range "a-b"'],
    ["cn[]", 'bad range ""'],
    ["cn[1,,2]", 'bad range ""'],
    ["cn[1-2-3]", 'bad range "1-2-3"'],
    ["cn[0-99999999]", "more than 1000000 hosts"],
  ])("rejects %j", (input, why) => {
    expect(() => expandHostlist(input)).toThrow(ParseError);
    expect(() => expandHostlist(input)).toThrow(`invalid hostlist "${input}": ${why}`);
  });
});

describe("compressHostlist", () => {
  it("groups by prefix and padding", () => {
    expect(compressHostlist(["cn01", "cn02", "cn03", "cn07"])).toBe("cn[01-03,07]");
    expect(compressHostlist(["cn1", "cn2", "gpu1"])).toBe("cn[1-2],gpu1");
  });

  it("keeps single numbered names and plain names as they are", () => {
    expect(compressHostlist(["cn07"])).toBe("cn07");
    expect(compressHostlist(["login", "cn1"])).toBe("login,cn1");
    expect(compressHostlist([])).toBe("");
  });

  it("sorts numerically and drops duplicates", () => {
    expect(compressHostlist(["cn10", "cn9", "cn8", "cn9"])).toBe("cn[8-10]");
  });

  it("lets an unpadded number join a padded group of the same width", () => {
    expect(compressHostlist(["cn09", "cn10"])).toBe("cn[09-10]");
  });

  it("keeps differently padded names apart", () => {
    expect(compressHostlist(["cn1", "cn01"])).toBe("cn1,cn01");
  });

  it("is the inverse of expandHostlist", () => {
    for (const list of ["cn[01-03,07],gpu1", "a[1-5,9],b[001-010]", "r1n[1-2]"]) {
      expect(compressHostlist(expandHostlist(list))).toBe(list);
    }
  });

  it.each(["", "cn[1]", "a,b", "a b"])("rejects the host name %j", (name) => {
    expect(() => compressHostlist([name])).toThrow(`invalid host name "${name}"`);
  });
});

describe("parseNodeNameList", () => {
  it("accepts plain comma lists", () => {
    expect(parseNodeNameList("cn1,cn2.example.com,node-3", "--nodelist")).toEqual(["cn1", "cn2.example.com", "node-3"]);
    expect(parseNodeNameList("", "--nodelist")).toEqual([]);
  });

  it("expands brackets (the reference rejects them)", () => {
    expect(parseNodeNameList("cn[1-2],gpu01", "--nodelist")).toEqual(["cn1", "cn2", "gpu01"]);
  });

  it("drops duplicates", () => {
    expect(parseNodeNameList("cn1,cn[1-2]", "--exclude")).toEqual(["cn1", "cn2"]);
  });

  it.each(["cn_1", "cn1,,cn2", "cn1,", "cn 1", "cn1;cn2", "cn@1"])("rejects %j with the flag name", (input) => {
    expect(() => parseNodeNameList(input, "--exclude")).toThrow(`invalid format for --exclude: "${input}"`);
  });

  it("reports bad brackets with the flag name", () => {
    expect(() => parseNodeNameList("cn[2-1]", "--nodelist")).toThrow(/^invalid format for --nodelist: invalid hostlist/);
  });

  it("adds the dashes to a bare flag name", () => {
    expect(() => parseNodeNameList("a_b", "nodelist")).toThrow(/^invalid format for --nodelist/);
  });
});
