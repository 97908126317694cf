import { describe, it, expect } from "vitest";
import { UNLIMITED_TIME_LIMIT, formatAgo, formatDuration, parseRelativeOrAbsoluteTime, parseTimeLimit } from "../../../src/core/parse/time.js";
import { ParseError } from "../../../src/core/parse/errors.js";

describe("parseTimeLimit", () => {
  it.each([
    ["30", 30 * 60],
    ["30:15", 30 * 60 + 15],
    ["1:02:03", 3723],
    ["01:00:00", 3600],
    ["2-3", 2 * 86400 + 3 * 3600],
    ["2-3:04", 2 * 86400 + 3 * 3600 + 4 * 60],
    ["1-00:00:01", 86401],
    ["0-0:0:5", 5],
  ])("parses %s as %i seconds", (input, seconds) => {
    expect(parseTimeLimit(input)).toBe(seconds);
  });

  it("does not range-check fields, like Slurm", () => {
    expect(parseTimeLimit("90")).toBe(5400);
    expect(parseTimeLimit("0:90:00")).toBe(5400);
  });

  it("maps UNLIMITED, infinite and 0 to the unlimited value 0", () => {
    expect(UNLIMITED_TIME_LIMIT).toBe(0);
    expect(parseTimeLimit("UNLIMITED")).toBe(0);
    expect(parseTimeLimit("unlimited")).toBe(0);
    expect(parseTimeLimit("Infinite")).toBe(0);
    expect(parseTimeLimit("0")).toBe(0);
  });

  it.each(["", "abc", "1:2:3:4", "1-", "-5", "1-2-3", "1.5", "1::2", "1-1:2:3:4", "10m"])("rejects %j", (input) => {
    expect(() => parseTimeLimit(input)).toThrow(ParseError);
    expect(() => parseTimeLimit(input)).toThrow(`invalid duration format: ${input} (`);
  });

  it("lists the accepted forms in the error", () => {
    expect(() => parseTimeLimit("x")).toThrow(/D-H:M:S/);
  });

  it("rejects values too large to represent", () => {
    expect(() => parseTimeLimit("999999999999999999")).toThrow(/invalid duration format/);
  });
});

describe("formatDuration", () => {
  it("formats as HH:MM:SS with days only when non-zero", () => {
    expect(formatDuration(3661)).toBe("01:01:01");
    expect(formatDuration(90061)).toBe("1-01:01:01");
    expect(formatDuration(0)).toBe("00:00:00");
    expect(formatDuration(59)).toBe("00:00:59");
    expect(formatDuration(86400)).toBe("1-00:00:00");
    expect(formatDuration(100 * 86400 + 36000)).toBe("100-10:00:00");
  });

  it("rounds fractions down and clamps negative or invalid input to zero", () => {
    expect(formatDuration(61.9)).toBe("00:01:01");
    expect(formatDuration(-5)).toBe("00:00:00");
    expect(formatDuration(Number.NaN)).toBe("00:00:00");
  });

  it("round-trips with parseTimeLimit", () => {
    expect(formatDuration(parseTimeLimit("3-04:05:06"))).toBe("3-04:05:06");
  });
});

describe("parseRelativeOrAbsoluteTime", () => {
  const now = new Date("2024-05-10T12:00:00.000Z");

  it("counts relative ages back from now, including days", () => {
    expect(parseRelativeOrAbsoluteTime("30s", now).toISOString()).toBe("2024-05-10T11:59:30.000Z");
    expect(parseRelativeOrAbsoluteTime("10m", now).toISOString()).toBe("2024-05-10T11:50:00.000Z");
    expect(parseRelativeOrAbsoluteTime("2h", now).toISOString()).toBe("2024-05-10T10:00:00.000Z");
    expect(parseRelativeOrAbsoluteTime("2d", now).toISOString()).toBe("2024-05-08T12:00:00.000Z");
    expect(parseRelativeOrAbsoluteTime("0s", now).getTime()).toBe(now.getTime());
  });

  it("parses RFC 3339 with zones and fractions", () => {
    expect(parseRelativeOrAbsoluteTime("2024-01-02T03:04:05Z", now).toISOString()).toBe("2024-01-02T03:04:05.000Z");
    expect(parseRelativeOrAbsoluteTime("2024-01-02T03:04:05+02:00", now).toISOString()).toBe("2024-01-02T01:04:05.000Z");
    expect(parseRelativeOrAbsoluteTime("2024-01-02T03:04:05-01:30", now).toISOString()).toBe("2024-01-02T04:34:05.000Z");
    expect(parseRelativeOrAbsoluteTime("2024-01-02T03:04:05.123456789Z", now).toISOString()).toBe("2024-01-02T03:04:05.123Z");
    expect(parseRelativeOrAbsoluteTime("2024-01-02T03:04:05.5Z", now).toISOString()).toBe("2024-01-02T03:04:05.500Z");
  });

  it("treats zone-less forms as UTC", () => {
    expect(parseRelativeOrAbsoluteTime("2024-01-02T03:04:05", now).toISOString()).toBe("2024-01-02T03:04:05.000Z");
    expect(parseRelativeOrAbsoluteTime("2024-01-02 03:04:05", now).toISOString()).toBe("2024-01-02T03:04:05.000Z");
  });

  it("keeps years below 100 as written", () => {
    expect(parseRelativeOrAbsoluteTime("0050-01-01T00:00:00Z", now).getUTCFullYear()).toBe(50);
  });

  it("rejects a relative age too far back to represent", () => {
    expect(() => parseRelativeOrAbsoluteTime("99999999999999d", now)).toThrow("unsupported time format: 99999999999999d");
  });

  it("accepts 29 February only in leap years", () => {
    expect(parseRelativeOrAbsoluteTime("2000-02-29T00:00:00Z", now).toISOString()).toBe("2000-02-29T00:00:00.000Z");
    expect(() => parseRelativeOrAbsoluteTime("1900-02-29T00:00:00Z", now)).toThrow(ParseError);
    expect(parseRelativeOrAbsoluteTime("2024-02-29T00:00:00Z", now).toISOString()).toBe("2024-02-29T00:00:00.000Z");
    expect(() => parseRelativeOrAbsoluteTime("2023-02-29T00:00:00Z", now)).toThrow(ParseError);
  });

  it.each([
    "",
    "yesterday",
    "10",
    "5w",
    "-5m",
    "2024-01-02",
    "2024-13-01T00:00:00Z",
    "2024-01-32T00:00:00Z",
    "2024-01-02T24:00:00Z",
    "2024-01-02T03:60:00Z",
    "2024-01-02T03:04:60Z",
    "2024-01-02 03:04:05Z",
    "2024-01-02T03:04:05+25:00",
  ])("rejects %j with the reference message", (input) => {
    expect(() => parseRelativeOrAbsoluteTime(input, now)).toThrow(`unsupported time format: ${input} (`);
  });
});

describe("formatAgo", () => {
  const now = Date.parse("2024-05-10T12:00:00Z");

  it("uses the largest whole unit, with a singular for one", () => {
    expect(formatAgo(now - 1_000, now)).toBe("1 second ago");
    expect(formatAgo(now - 45_000, now)).toBe("45 seconds ago");
    expect(formatAgo(now - 60_000, now)).toBe("1 minute ago");
    expect(formatAgo(now - 59 * 60_000, now)).toBe("59 minutes ago");
    expect(formatAgo(now - 3_600_000, now)).toBe("1 hour ago");
    expect(formatAgo(now - 5 * 3_600_000, now)).toBe("5 hours ago");
    expect(formatAgo(now - 86_400_000, now)).toBe("1 day ago");
    expect(formatAgo(now - 3 * 86_400_000, now)).toBe("3 days ago");
  });

  it("shows 0 seconds for now or a time slightly in the future", () => {
    expect(formatAgo(now, now)).toBe("0 seconds ago");
    expect(formatAgo(now + 5_000, now)).toBe("0 seconds ago");
  });

  it("shows - for an unknown time", () => {
    expect(formatAgo(0, now)).toBe("-");
    expect(formatAgo(Number.NaN, now)).toBe("-");
  });
});
