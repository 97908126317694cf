import { describe, it, expect } from "vitest";
import { parseContainerId, parseJobStepSelectors } from "../../../src/core/parse/selector.js";
import { ParseError } from "../../../src/core/parse/errors.js";

describe("parseJobStepSelectors", () => {
  it("parses jobs, steps and array tasks", () => {
    expect(parseJobStepSelectors("12")).toEqual([{ jobId: 12 }]);
    expect(parseJobStepSelectors("12.3,15")).toEqual([{ jobId: 12, stepId: 3 }, { jobId: 15 }]);
    expect(parseJobStepSelectors("7_2")).toEqual([{ jobId: 7, arrayTaskId: 2 }]);
    expect(parseJobStepSelectors("7_0.1")).toEqual([{ jobId: 7, arrayTaskId: 0, stepId: 1 }]);
    expect(parseJobStepSelectors(" 1 , 2 ")).toEqual([{ jobId: 1 }, { jobId: 2 }]);
    expect(parseJobStepSelectors("4294967295")).toEqual([{ jobId: 4294967295 }]);
  });

  it("returns nothing for an empty string", () => {
    expect(parseJobStepSelectors("")).toEqual([]);
  });

  it("rejects step 0 unless allowed", () => {
    expect(() => parseJobStepSelectors("5.0")).toThrow('invalid step id "5.0"');
    expect(parseJobStepSelectors("5.0", { allowStepZero: true })).toEqual([{ jobId: 5, stepId: 0 }]);
  });

  it.each(["1.2.3", "1_2_3", "1,", "1,,2", "1._2"])("rejects the selector in %j", (input) => {
    expect(() => parseJobStepSelectors(input)).toThrow(ParseError);
    expect(() => parseJobStepSelectors(input)).toThrow(/^invalid selector "/);
  });

  it("rejects a bad array task", () => {
    expect(() => parseJobStepSelectors("3_x")).toThrow('invalid selector "3_x": the array task');
  });

  it.each(["0", "abc", "-1", "4294967296", ".1", "+1"])("rejects the job id in %j", (input) => {
    expect(() => parseJobStepSelectors(input)).toThrow(`invalid job id "${input}"`);
  });

  it.each(["1.", "1.x", "1.4294967296"])("rejects the step id in %j", (input) => {
    expect(() => parseJobStepSelectors(input)).toThrow(`invalid step id "${input}"`);
  });
});

describe("parseContainerId", () => {
  it("parses JOBID.STEPID, including step 0", () => {
    expect(parseContainerId("123.1")).toEqual({ jobId: 123, stepId: 1 });
    expect(parseContainerId("5.0")).toEqual({ jobId: 5, stepId: 0 });
    expect(parseContainerId("007.02")).toEqual({ jobId: 7, stepId: 2 });
  });

  it.each(["123", "1.2.3", ""])("requires exactly one dot in %j", (input) => {
    expect(() => parseContainerId(input)).toThrow(ParseError);
    expect(() => parseContainerId(input)).toThrow(/^CONTAINER must be in JOBID\.STEPID format/);
  });

  it.each([
    ["x.1", "x"],
    [".1", ""],
    ["0.1", "0"],
    ["-1.1", "-1"],
    ["4294967296.1", "4294967296"],
  ])("rejects the job ID in %j", (input, part) => {
    expect(() => parseContainerId(input)).toThrow(`invalid job ID: ${part} (`);
  });

  it.each([
    ["1.x", "x"],
    ["1.", ""],
    ["1.+2", "+2"],
    ["1.4294967296", "4294967296"],
  ])("rejects the step ID in %j", (input, part) => {
    expect(() => parseContainerId(input)).toThrow(`invalid step ID: ${part} (`);
  });
});
