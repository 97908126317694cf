// Steps share their job's allocation without overcommitting it: a step that names its CPUs, memory or GPUs gets
// them apart from its running siblings' shares, and waits (StepResources) until they are free, unless --overlap.
import { describe, expect, it } from "vitest";
import { JobStatus } from "../../../src/core/generated/crane/crane";
import { LifecycleHarness } from "../../harness/ctld-lifecycle";

function runningJob(h: LifecycleHarness) {
  h.allNodesUp();
  return h.running({ cpusPerTask: 4, nodelist: ["n1"] }); // all 4 CPUs of n1
}

function end(h: LifecycleHarness, job: ReturnType<typeof runningJob>, stepId: number) {
  h.report(job, stepId, "n1", JobStatus.Running);
  h.report(job, stepId, "n1", JobStatus.Completed);
}

describe("step shares", () => {
  it("a step that does not fit beside its siblings waits as StepResources, and starts when one ends", () => {
    const h = new LifecycleHarness();
    const job = runningJob(h);
    const a = h.addStep(job, { cpusPerTask: 3, ntasksPerNode: 1 });
    const b = h.addStep(job, { cpusPerTask: 2, ntasksPerNode: 1 });
    const c = h.addStep(job, { cpusPerTask: 1, ntasksPerNode: 1 });
    expect([a.status, b.status, c.status]).toEqual([JobStatus.Configuring, JobStatus.Pending, JobStatus.Configuring]);
    expect(b.reason).toBe("StepResources");
    expect(h.of("launch").some((e) => e.step === b)).toBe(false);
    end(h, job, a.stepId);
    expect(b.status).toBe(JobStatus.Configuring);
    expect(b.reason).toBe("");
  });

  it("--overlap and steps that name nothing share what is used", () => {
    const h = new LifecycleHarness();
    const job = runningJob(h);
    const a = h.addStep(job, { cpusPerTask: 4, ntasksPerNode: 1 });
    const overlapping = h.addStep(job, { cpusPerTask: 4, ntasksPerNode: 1, overlap: true });
    const inheriting = h.addStep(job, {});
    expect([a.status, overlapping.status, inheriting.status]).toEqual([JobStatus.Configuring, JobStatus.Configuring, JobStatus.Configuring]);
  });

  it("counts only what a step names: CPUs named, memory shared", () => {
    const h = new LifecycleHarness();
    const job = runningJob(h);
    const a = h.addStep(job, { cpusPerTask: 2, ntasksPerNode: 1 });
    const b = h.addStep(job, { cpusPerTask: 2, ntasksPerNode: 1 });
    expect([a.status, b.status]).toEqual([JobStatus.Configuring, JobStatus.Configuring]);
  });
});
