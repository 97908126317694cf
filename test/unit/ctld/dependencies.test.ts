// Dependencies and --begin through the lifecycle harness: the gate a pending job waits at, its reason, and when it
// opens; then the -d and --begin parsers.
import { describe, expect, it } from "vitest";
import { DependencyKind, JobStatus } from "../../../src/core/generated/crane/crane";
import { formatDependency, parseBeginTime, parseDependency } from "../../../src/core/parse";
import { LifecycleHarness } from "../../harness/ctld-lifecycle";

const PRIMARY = 1;
const dep = (text: string) => {
  const { dependencies, anyOf } = parseDependency(text);
  return { dependencies, dependencyAnyOf: anyOf };
};

/** Runs the job to its end with this exit status. */
function finish(h: LifecycleHarness, job: ReturnType<LifecycleHarness["submit"]>, status: JobStatus, exitCode = 0) {
  h.report(job, PRIMARY, job.nodes[0]!, JobStatus.Running);
  h.report(job, PRIMARY, job.nodes[0]!, status, exitCode);
  h.freeAll(job);
}

describe("dependencies", () => {
  it("afterok waits for its job, then starts once it completed", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const first = h.running();
    const second = h.submit(dep(`afterok:${first.jobId}`));
    h.schedule();
    expect(second.status).toBe(JobStatus.Pending);
    expect(second.pendingReason).toBe("Dependency");
    finish(h, first, JobStatus.Completed);
    h.schedule();
    expect(second.status).toBe(JobStatus.Configuring);
  });

  it("afterok of a failed job never holds: the job pends as DependencyNeverSatisfied, or is cancelled with --kill-on-invalid-dep", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const first = h.running();
    const waits = h.submit(dep(`afterok:${first.jobId}`));
    const killed = h.submit({ ...dep(`afterok:${first.jobId}`), killOnInvalidDep: true });
    const other = h.submit(dep(`afternotok:${first.jobId}`));
    finish(h, first, JobStatus.Failed, 3);
    h.schedule();
    expect(waits.status).toBe(JobStatus.Pending);
    expect(waits.pendingReason).toBe("DependencyNeverSatisfied");
    expect(waits.reason).toContain(`job ${first.jobId} ended Failed`);
    expect(killed.status).toBe(JobStatus.Cancelled);
    expect(h.jobs.has(killed.jobId)).toBe(false);
    expect(other.status).toBe(JobStatus.Configuring);
  });

  it("after holds once its job started; afterany once it ended however; ',' needs all and '?' any", () => {
    const h = new LifecycleHarness({ nodes: 4 });
    h.allNodesUp();
    const a = h.running();
    const b = h.submit({ nodelist: ["n4"], hold: true }); // stays pending
    const afterStart = h.submit(dep(`after:${a.jobId}`));
    const all = h.submit(dep(`afterany:${a.jobId},after:${b.jobId}`));
    const any = h.submit(dep(`after:${b.jobId}?afterany:${a.jobId}`));
    h.schedule();
    expect(afterStart.status).toBe(JobStatus.Configuring);
    expect([all.status, any.status]).toEqual([JobStatus.Pending, JobStatus.Pending]);
    finish(h, a, JobStatus.Cancelled);
    h.schedule();
    expect(any.status).toBe(JobStatus.Configuring);
    expect(all.pendingReason).toBe("Dependency"); // b has not started
  });

  it("singleton waits for the earlier active job of the same user and name", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const first = h.running({ name: "train" });
    const other = h.submit({ name: "train", ...dep("singleton") }, 2000); // another user: not the same
    const second = h.submit({ name: "train", ...dep("singleton") });
    h.schedule();
    expect(other.status).toBe(JobStatus.Configuring);
    expect(second.pendingReason).toBe("Dependency");
    finish(h, first, JobStatus.Completed);
    h.schedule();
    expect(second.status).toBe(JobStatus.Configuring);
  });

  it("--begin keeps the job pending as BeginTime until its time, and the tick at that time schedules again", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.submit({ beginTime: h.clock.wall + 5000 });
    h.schedule();
    expect(job.pendingReason).toBe("BeginTime");
    expect(h.tick(2000).some((e) => e.kind === "reschedule")).toBe(false);
    expect(h.tick(4000).some((e) => e.kind === "reschedule")).toBe(true);
    h.schedule();
    expect(job.status).toBe(JobStatus.Configuring);
  });
});

describe("-d and --begin parsing", () => {
  it("reads Slurm's forms and prints them back", () => {
    expect(parseDependency("afterok:12:13,afterany:14")).toEqual({
      dependencies: [
        { kind: DependencyKind.DEP_AFTER_OK, jobIds: [12, 13] },
        { kind: DependencyKind.DEP_AFTER_ANY, jobIds: [14] },
      ],
      anyOf: false,
    });
    const any = parseDependency("after:1?singleton");
    expect(any.anyOf).toBe(true);
    expect(formatDependency(any.dependencies, any.anyOf)).toBe("after:1?singleton");
    for (const bad of ["", "afterok", "afterok:x", "before:1", "afterok:1,afterany:2?after:3", "afterok:0"]) {
      expect(() => parseDependency(bad), bad).toThrow(/invalid dependency/);
    }
  });

  it("reads begin times relative to now, as a clock time (tomorrow once past) and as a local date", () => {
    const now = new Date(2026, 11, 3, 12, 0, 0);
    expect(parseBeginTime("now+90", now)).toBe(now.getTime() + 90_000);
    expect(parseBeginTime("now+1hour", now)).toBe(now.getTime() + 3_600_000);
    expect(parseBeginTime("13:30", now)).toBe(new Date(2026, 11, 3, 13, 30).getTime());
    expect(parseBeginTime("11:00", now)).toBe(new Date(2026, 11, 4, 11, 0).getTime());
    expect(parseBeginTime("2026-12-24T08:00", now)).toBe(new Date(2026, 11, 24, 8, 0).getTime());
    for (const bad of ["later", "now+5y", "25:00", "2026-02-30"]) expect(() => parseBeginTime(bad, now), bad).toThrow(/invalid begin time/);
  });
});
