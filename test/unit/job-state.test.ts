import { describe, expect, it } from "vitest";
import { JobStatus, canTransition, combineTerminal, isTerminal, statusFromExit, assertTransition } from "../../src/core/job-state";

describe("job state machine", () => {
  it("follows the founding document's happy path", () => {
    const path = [JobStatus.Pending, JobStatus.Configuring, JobStatus.Starting, JobStatus.Running, JobStatus.Completing, JobStatus.Completed];
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!), `${JobStatus[path[i - 1]!]} -> ${JobStatus[path[i]!]}`).toBe(true);
  });

  it("lets start-up and runtime failures end in Failed", () => {
    expect(canTransition(JobStatus.Configuring, JobStatus.Failed)).toBe(true);
    expect(canTransition(JobStatus.Starting, JobStatus.Failed)).toBe(true);
    expect(canTransition(JobStatus.Running, JobStatus.Failed)).toBe(true);
    expect(canTransition(JobStatus.Running, JobStatus.ExceedTimeLimit)).toBe(true);
    expect(canTransition(JobStatus.Running, JobStatus.Cancelled)).toBe(true);
  });

  it("never leaves a terminal state", () => {
    for (const t of [JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled, JobStatus.ExceedTimeLimit, JobStatus.OutOfMemory]) {
      expect(isTerminal(t)).toBe(true);
      expect(canTransition(t, JobStatus.Running)).toBe(false);
      expect(canTransition(t, JobStatus.Pending)).toBe(false);
    }
    expect(() => assertTransition(JobStatus.Completed, JobStatus.Running, "job 1")).toThrow(/job 1: illegal transition Completed -> Running/);
  });

  it("does not skip back from Completing to Running", () => {
    expect(canTransition(JobStatus.Completing, JobStatus.Running)).toBe(false);
    expect(canTransition(JobStatus.Pending, JobStatus.Running)).toBe(false);
  });

  it("maps exits to statuses, OOM first", () => {
    expect(statusFromExit(0, null, false)).toBe(JobStatus.Completed);
    expect(statusFromExit(3, null, false)).toBe(JobStatus.Failed);
    expect(statusFromExit(137, "SIGKILL", false)).toBe(JobStatus.Failed);
    expect(statusFromExit(137, "SIGKILL", true)).toBe(JobStatus.OutOfMemory);
  });

  it("reports the worst of several nodes' outcomes", () => {
    expect(combineTerminal([JobStatus.Completed, JobStatus.Completed])).toBe(JobStatus.Completed);
    expect(combineTerminal([JobStatus.Completed, JobStatus.Failed])).toBe(JobStatus.Failed);
    expect(combineTerminal([JobStatus.OutOfMemory, JobStatus.Failed])).toBe(JobStatus.OutOfMemory);
    expect(combineTerminal([JobStatus.Completed, JobStatus.ExceedTimeLimit])).toBe(JobStatus.ExceedTimeLimit);
  });
});
