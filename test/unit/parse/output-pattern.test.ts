import { describe, it, expect } from "vitest";
import { defaultOutputPath, expandOutputPattern, resolveOutputPath, type OutputPatternContext } from "../../../src/core/parse/output-pattern.js";

const ctx: OutputPatternContext = {
  jobId: 42,
  stepId: 3,
  jobName: "train",
  user: "alice",
  nodeName: "cn01.cluster.local",
  nodeIndex: 1,
  taskId: 7,
};

describe("expandOutputPattern", () => {
  it("expands every specifier", () => {
    expect(expandOutputPattern("%j-%J-%s-%A-%a-%N-%n-%t-%u-%x", ctx)).toBe("42-42.3-3-42-4294967294-cn01-1-7-alice-train");
  });

  it("uses the array ids when present", () => {
    expect(expandOutputPattern("%A_%a", { ...ctx, arrayJobId: 40, arrayTaskId: 2 })).toBe("40_2");
  });

  it("turns %% into %", () => {
    expect(expandOutputPattern("100%%-%%j", ctx)).toBe("100%-%j");
  });

  it("zero-pads numeric fields to the given width only", () => {
    expect(expandOutputPattern("%5j.%3t", ctx)).toBe("00042.007");
    expect(expandOutputPattern("%1j", ctx)).toBe("42");
    expect(expandOutputPattern("%8x-%4N", ctx)).toBe("train-cn01");
  });

  it("caps absurd widths", () => {
    expect(expandOutputPattern("%999j", ctx)).toHaveLength(64);
  });

  it("keeps unknown specifiers and a trailing % as written", () => {
    expect(expandOutputPattern("%q-%5q-%", ctx)).toBe("%q-%5q-%");
  });

  it("turns expansion off when there is a backslash and drops the backslashes", () => {
    expect(expandOutputPattern("out\\_%j.log", ctx)).toBe("out_%j.log");
  });

  it("uses a short node name without dots unchanged", () => {
    expect(expandOutputPattern("%N", { ...ctx, nodeName: "gpu3" })).toBe("gpu3");
  });
});

describe("defaultOutputPath", () => {
  it("puts Crane-<jobid>.out in the working directory", () => {
    expect(defaultOutputPath("/home/alice", { jobId: 42 })).toBe("/home/alice/Crane-42.out");
    expect(defaultOutputPath("/home/alice/", { jobId: 42 })).toBe("/home/alice/Crane-42.out");
    expect(defaultOutputPath("/w", { jobId: 50, arrayJobId: 42, arrayTaskId: 7 })).toBe("/w/Crane-42_7.out");
  });
});

describe("resolveOutputPath", () => {
  const noDirectories = (): boolean => false;

  it("uses the default without a pattern", () => {
    expect(resolveOutputPath(undefined, "/work", ctx, noDirectories)).toBe("/work/Crane-42.out");
    expect(resolveOutputPath("", "/work", ctx, noDirectories)).toBe("/work/Crane-42.out");
  });

  it("resolves relative patterns against the working directory", () => {
    expect(resolveOutputPath("logs/%x-%j.out", "/work", ctx, noDirectories)).toBe("/work/logs/train-42.out");
    expect(resolveOutputPath("../%j.out", "/work/sub", ctx, noDirectories)).toBe("/work/42.out");
  });

  it("keeps absolute patterns", () => {
    expect(resolveOutputPath("/scratch/%u/%j.out", "/work", ctx, noDirectories)).toBe("/scratch/alice/42.out");
  });

  it("appends the default file name to a directory", () => {
    const isDirectory = (p: string): boolean => p === "/work/logs";
    expect(resolveOutputPath("logs", "/work", ctx, isDirectory)).toBe("/work/logs/Crane-42.out");
    expect(resolveOutputPath("new-dir/", "/work", ctx, noDirectories)).toBe("/work/new-dir/Crane-42.out");
  });
});
