import { describe, expect, it } from "vitest";
import { JobStatus, type StepStatusChangeRequest } from "../../../src/core/generated/crane/crane";
import { FREE_WAIT_MS, StepTable } from "../../../src/modes/craned/step-table";

const report = (jobId: number, stepId: number, status: JobStatus): StepStatusChangeRequest => ({
  node: "n1",
  jobId,
  stepId,
  status,
  exitCode: 0,
  reason: "",
  timestamp: 0,
  containerId: "",
  maxRssBytes: 0,
  cpuTimeUsec: 0,
});

describe("craned's step table", () => {
  it("marks a step ended when its terminal report arrives, delivered only once ctld accepted it", async () => {
    const t = new StepTable();
    t.add(1, 1, JobStatus.Configuring);
    expect(t.isOutputComplete(1, 1)).toBe(false);
    expect(await t.report(report(1, 1, JobStatus.Completed), async () => false)).toBe(false);
    expect(t.get(1, 1)).toMatchObject({ ended: true, delivered: false, status: JobStatus.Configuring });
    expect(t.isOutputComplete(1, 1)).toBe(true);
    expect(await t.report(report(1, 1, JobStatus.Completed), async () => true)).toBe(true);
    expect(t.get(1, 1)).toMatchObject({ ended: true, delivered: true, status: JobStatus.Completed });
  });

  it("a Running report does not end the step", async () => {
    const t = new StepTable();
    await t.report(report(2, 1, JobStatus.Running), async () => true);
    expect(t.get(2, 1)).toMatchObject({ ended: false, status: JobStatus.Running });
  });

  it("ends a job's ordinary steps before its pod, repeating the stop while they run", async () => {
    const t = new StepTable();
    for (const s of [0, 1, 2]) t.add(7, s, JobStatus.Running);
    t.add(8, 1, JobStatus.Running); // another job: untouched
    const stops: number[] = [];
    let clock = 0;
    const sleep = async (ms: number) => {
      clock += ms;
      // The ordinary steps end 3 s after the first stop, the pod at once when stopped.
      if (clock >= 3_000) for (const s of [1, 2]) t.get(7, s)!.ended = true;
      if (stops.includes(0)) t.get(7, 0)!.ended = true;
    };
    const ids = await t.endJob(7, async (stepId) => void stops.push(stepId), sleep);
    expect(ids.sort()).toEqual([0, 1, 2]);
    const firstPod = stops.indexOf(0);
    expect(firstPod).toBeGreaterThan(0);
    expect(stops.slice(0, firstPod).filter((s) => s === 1).length).toBeGreaterThan(1); // repeated
    expect(stops.slice(firstPod)).toEqual([0]);
    expect(t.get(8, 1)!.ended).toBe(false);
    t.forgetJob(7);
    expect(t.ofJob(7)).toEqual([]);
    expect(t.ofJob(8)).toHaveLength(1);
  });

  it("gives up waiting after FREE_WAIT_MS for a step that never ends", async () => {
    const t = new StepTable();
    t.add(3, 1, JobStatus.Running);
    let clock = 0;
    await t.endJob(
      3,
      async () => undefined,
      async (ms) => void (clock += ms),
    );
    expect(clock).toBe(FREE_WAIT_MS);
  });
});
