// Job arrays: --array parsing, cqueue's folding of pending tasks, and the %N limit in the lifecycle's pass.
import { describe, expect, it } from "vitest";
import { JobInfo, JobStatus } from "../../../src/core/generated/crane/crane";
import { foldPendingArrays, jobLabel } from "../../../src/core/cli/queue";
import { parseArraySpec } from "../../../src/core/parse";
import { LifecycleHarness } from "../../harness/ctld-lifecycle";

describe("--array", () => {
  it("reads ranges, lists, steps and a limit", () => {
    expect(parseArraySpec("1-3,7,10-16:3%2")).toEqual({ taskIds: [1, 2, 3, 7, 10, 13, 16], maxRunning: 2 });
    expect(parseArraySpec("0")).toEqual({ taskIds: [0], maxRunning: 0 });
    for (const bad of ["", "%3", "5-1", "1-10:0", "a-b", "1-10%0", "1%2%3", "0-999999999"]) expect(() => parseArraySpec(bad), bad).toThrow(/invalid --array/);
  });
});

describe("cqueue's array rows", () => {
  const task = (jobId: number, taskId: number, status = JobStatus.Pending, pendingReason = "Priority") =>
    JobInfo.fromPartial({ jobId, status, pendingReason, array: { arrayJobId: 10, taskId, taskCount: 6, taskMin: 1, taskMax: 6, maxRunning: 0 } });

  it("folds pending tasks with one reason into one row, and names each running task", () => {
    const jobs = [task(15, 6), task(14, 5), task(13, 4, JobStatus.Pending, "JobArrayTaskLimit"), task(12, 3), task(11, 2, JobStatus.Running), task(10, 1)];
    const rows = foldPendingArrays(jobs);
    expect(rows.map(jobLabel)).toEqual(["10_[1,3,5-6]", "10_4", "10_2"]);
  });
});

describe("an array's %N limit", () => {
  it("starts at most N tasks, and the next one once a task ended", () => {
    const h = new LifecycleHarness({ nodes: 4 });
    h.allNodesUp();
    const tasks = [1, 2, 3].map((taskId) => {
      const job = h.submit();
      job.spec.array = { arrayJobId: 1, taskId, taskCount: 3, taskMin: 1, taskMax: 3, maxRunning: 2 };
      h.jobs.set(job.jobId, job); // re-indexed as an array task with a gate
      return job;
    });
    h.schedule();
    expect(tasks.map((t) => t.status)).toEqual([JobStatus.Configuring, JobStatus.Configuring, JobStatus.Pending]);
    expect(tasks[2]!.pendingReason).toBe("JobArrayTaskLimit");
    h.report(tasks[0]!, 1, tasks[0]!.nodes[0]!, JobStatus.Running);
    h.report(tasks[0]!, 1, tasks[0]!.nodes[0]!, JobStatus.Completed);
    h.freeAll(tasks[0]!);
    h.schedule();
    expect(tasks[2]!.status).toBe(JobStatus.Configuring);
  });
});
