import { describe, expect, it } from "vitest";
import { JobHistoryEntry, JobStatus, JobType } from "../../../src/core/generated/crane/crane";
import { CliError } from "../../../src/core/cli/errors";
import {
  exitAndSignal,
  formatCpuTime,
  formatRss,
  historyJson,
  parseHistoryFormat,
  parseHistoryStates,
  parseTimeWindow,
  renderHistory,
} from "../../../src/core/cli/job-history";

const START = Date.UTC(2026, 0, 2, 3, 4, 5);
const entry = (o: Partial<JobHistoryEntry> = {}): JobHistoryEntry =>
  JobHistoryEntry.fromPartial({
    jobId: 42,
    name: "train",
    username: "alice",
    uid: 1000,
    account: "phys",
    partition: "GPU",
    type: JobType.Batch,
    status: JobStatus.Completed,
    nodes: ["cn01", "cn02", "cn03"],
    allocCpus: 6,
    submitTime: START - 1000,
    startTime: START,
    endTime: START + 3_725_000,
    maxRssBytes: 52_428_800,
    cpuTimeUsec: 61_234_567,
    ...o,
  });

const exitOf = (f: () => unknown): number => {
  try {
    f();
  } catch (e) {
    if (e instanceof CliError) return e.exitCode;
    throw e;
  }
  throw new Error("did not throw");
};

describe("cacct's columns and format letters", () => {
  it("renders a -o format: letters and long names, widths, right alignment, literal text", () => {
    const out = renderHistory([entry()], { format: "%j|%5t|%.8maxrss|%L %C %e %x", noHeader: false, full: false });
    expect(out.split("\n")).toEqual([
      "JOBID|STATE|  MAXRSS|NODELIST  CPUTIME      ELAPSED  EXITCODE",
      "42   |Compl|   50.0M|cn[01-03] 00:01:01.234 01:02:05 0:0",
    ]);
  });

  it("is case-sensitive for letters only, and refuses unknown keys and strings without a spec (exit 5)", () => {
    expect(parseHistoryFormat("%JOBID%jobName").length).toBe(2);
    expect(exitOf(() => parseHistoryFormat("%j %Z"))).toBe(5);
    expect(() => parseHistoryFormat("%j %Z")).toThrow("invalid format specifier: Z");
    expect(() => parseHistoryFormat("no spec")).toThrow(/^invalid format specifier: "no spec" has no %KEY \(valid keys: j\/jobid, /);
    expect(() => parseHistoryFormat("%jn")).toThrow("invalid format specifier: jn");
  });

  it("prints the default table without a header on -N, and '-' for what is unknown", () => {
    const pending = entry({ status: JobStatus.Cancelled, nodes: [], startTime: 0, maxRssBytes: 0, cpuTimeUsec: 0, allocCpus: 0 });
    const out = renderHistory([pending], { noHeader: true, full: false });
    expect(out.split(/\s+/)).toEqual(["42", "train", "GPU", "phys", "0", "Cancelled", "0:0", "-", expect.stringMatching(/^2026-01-0\dT/), "-", "-", "-", "-"]);
  });

  it("splits an exit status into code and signal", () => {
    expect(exitAndSignal(0)).toEqual({ code: 0, signal: 0 });
    expect(exitAndSignal(3)).toEqual({ code: 3, signal: 0 });
    expect(exitAndSignal(137)).toEqual({ code: 0, signal: 9 });
    expect(exitAndSignal(143)).toEqual({ code: 0, signal: 15 });
    expect(exitAndSignal(128)).toEqual({ code: 128, signal: 0 });
  });

  it("formats memory and CPU time", () => {
    expect(formatRss(0)).toBe("-");
    expect(formatRss(512 * 1024)).toBe("512.0K");
    expect(formatRss(3 * 1024 ** 3)).toBe("3.0G");
    expect(formatCpuTime(90_061_001_000)).toBe("1-01:01:01.001");
  });

  it("gives JSON with snake_case keys and RFC 3339 times", () => {
    const j = historyJson(entry({ exitCode: 137, endTime: 0 }), START + 10_000);
    expect(j).toMatchObject({ job_id: 42, job_name: "train", state: "Completed", exit_code: 0, signal: 9, node_list: "cn[01-03]", end_time: null });
    expect(j).toMatchObject({ start_time: "2026-01-02T03:04:05.000Z", elapsed_seconds: 10, max_rss_bytes: 52_428_800, cpu_time_usec: 61_234_567 });
  });
});

describe("cacct's filters", () => {
  it("parses states, their short forms and all", () => {
    expect(parseHistoryStates("completed,F,timeout,oom")).toEqual([JobStatus.Completed, JobStatus.Failed, JobStatus.ExceedTimeLimit, JobStatus.OutOfMemory]);
    expect(parseHistoryStates("all")).toEqual([]);
    expect(() => parseHistoryStates("done")).toThrow("unknown state: done");
    expect(exitOf(() => parseHistoryStates("failed,"))).toBe(2);
  });

  it("parses time windows: both ends, one end, a bare date, an age", () => {
    const now = new Date(Date.UTC(2026, 0, 10));
    expect(parseTimeWindow("2026-01-01T00:00:00Z~2026-01-02", "-S", now)).toEqual({ from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 2) });
    expect(parseTimeWindow("~2026-01-02 10:00:00", "-S", now)).toEqual({ from: 0, to: Date.UTC(2026, 0, 2, 10) });
    expect(parseTimeWindow("1d", "-E", now)).toEqual({ from: Date.UTC(2026, 0, 9), to: 0 });
    expect(parseTimeWindow("2h~", "-E", now)).toEqual({ from: now.getTime() - 2 * 3_600_000, to: 0 });
    for (const bad of ["~", "yesterday", "2026-01-02~2026-01-01", "1d~2d~3d"]) expect(exitOf(() => parseTimeWindow(bad, "--endtime", now))).toBe(2);
    expect(() => parseTimeWindow("2026-01-02~2026-01-01", "--endtime", now)).toThrow("the start is after the end");
  });
});
