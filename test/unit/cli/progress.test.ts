// Progress while waiting (crun, ccon run): the words per state, when the wait is over, and the one self-erasing line
// on a TTY (nothing at all otherwise), against a real in-process ctld's watch stream.
import { EventEmitter } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { progressLabel, startOutcome, StatusLine, waitForStart } from "../../../src/core/cli/progress";
import { CancelJobRequest, JobInfo, JobStatus, JobType, StepInfo } from "../../../src/core/generated/crane/crane";
import { unary } from "../../../src/core/rpc";
import { startInProcessCtld, type InProcessCtld } from "../../harness/ctld-in-process";

/** Something that looks like process.stderr: a TTY or not, recording what is written. */
class FakeTerminal extends EventEmitter {
  written = "";
  columns = 60;
  constructor(readonly isTTY: boolean) {
    super();
  }
  write(s: string): boolean {
    this.written += s;
    return true;
  }
  /** What a terminal would show on the current line: the text after the last erase. */
  get line(): string {
    const parts = this.written.split("\r\u001b[2K");
    return parts[parts.length - 1]!;
  }
}
const term = (tty: boolean) => new FakeTerminal(tty) as unknown as NodeJS.WriteStream & FakeTerminal;

const step = (over: Partial<StepInfo>) => StepInfo.fromPartial({ jobId: 9, stepId: 1, nodes: ["n1"], ...over });
const job = (over: Partial<JobInfo>) => JobInfo.fromPartial({ jobId: 9, status: JobStatus.Pending, ...over });

describe("progressLabel", () => {
  it("names each state on the way: Pending (reason), Configuring on nodes, Starting with the image, Running", () => {
    expect(progressLabel(undefined, 1)).toBe("submitted");
    expect(progressLabel(job({ pendingReason: "Resource" }), 1)).toBe("Pending (Resource)");
    expect(progressLabel(job({ pendingReason: "" }), 1)).toBe("Pending (Priority)");
    expect(progressLabel(job({ status: JobStatus.Configuring, nodes: ["n1", "n2"] }), 1)).toBe("Configuring on n1,n2");
    const pod = step({ stepId: 0, status: JobStatus.Running });
    const starting = step({ status: JobStatus.Starting, containerMeta: { image: { image: "busybox:1.36" } } as StepInfo["containerMeta"] });
    expect(progressLabel(job({ status: JobStatus.Starting, type: JobType.Container, nodes: ["n1"], steps: [pod, starting] }), 1)).toBe(
      "Starting (image busybox:1.36)",
    );
    expect(progressLabel(job({ status: JobStatus.Running, steps: [step({ status: JobStatus.Running })] }), 1)).toBe("Running");
    expect(progressLabel(job({ status: JobStatus.Failed, reason: "pod failed" }), 1)).toBe("Failed (pod failed)");
  });
});

describe("startOutcome", () => {
  it("waits while the step is pending or starting, ends at Running or at the end of the job", () => {
    expect(startOutcome(job({}), 1, "running")).toBeUndefined();
    expect(startOutcome(job({ status: JobStatus.Configuring, steps: [step({ status: JobStatus.Configuring })] }), 1, "running")).toBeUndefined();
    expect(startOutcome(job({ status: JobStatus.Configuring, steps: [step({ status: JobStatus.Configuring })] }), 1, "placed")?.endedBeforeStart).toBe(false);
    expect(startOutcome(job({ status: JobStatus.Running, steps: [step({ status: JobStatus.Running })] }), 1, "running")?.endedBeforeStart).toBe(false);
    // A step that failed or finished already: the caller follows it and reports its outcome.
    expect(startOutcome(job({ status: JobStatus.Completing, steps: [step({ status: JobStatus.Failed, reason: "boom" })] }), 1, "running")).toMatchObject({
      endedBeforeStart: false,
      reason: "boom",
    });
    // The job ended before the step existed.
    expect(startOutcome(job({ status: JobStatus.Cancelled, reason: "cancelled by user" }), 1, "running")).toMatchObject({
      endedBeforeStart: true,
      reason: "cancelled by user",
    });
  });
});

describe("StatusLine", () => {
  it("rewrites one line and erases it on a TTY", () => {
    const t = term(true);
    const line = new StatusLine(t);
    line.set("job 1: Pending");
    line.set("job 1: Running");
    expect(t.line).toBe("job 1: Running");
    expect(t.written).not.toContain("\n");
    line.clear();
    expect(t.line).toBe("");
  });

  it("cuts a line wider than the terminal", () => {
    const t = term(true);
    new StatusLine(t).set("x".repeat(100));
    expect(t.line.length).toBeLessThan(60);
  });

  it("writes nothing without a TTY", () => {
    const t = term(false);
    const line = new StatusLine(t);
    line.set("job 1: Pending");
    line.clear();
    expect(t.written).toBe("");
  });
});

describe("waitForStart against ctld", () => {
  let ctld: InProcessCtld;
  beforeAll(async () => {
    ctld = await startInProcessCtld();
  });
  afterAll(async () => {
    await ctld?.stop();
  });

  const cancel = (jobId: number) => unary(ctld.client, ctld.client.cancelJob, CancelJobRequest.fromPartial({ jobIds: [{ jobId, stepIds: [] }] }));

  it("shows the pending reason on a TTY while it waits, then erases the line when the job ends", async () => {
    const [id] = await ctld.submit(1);
    const t = term(true);
    const done = waitForStart(ctld.connection, id!, 1, { stream: t });
    for (let i = 0; i < 300 && !t.line.includes("Pending (Held)"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.line).toMatch(new RegExp(`job ${id}: Pending \\(Held\\) \\d+s$`));
    await cancel(id!);
    const res = await done;
    expect(res).toMatchObject({ endedBeforeStart: true });
    expect(res.job?.status).toBe(JobStatus.Cancelled);
    expect(t.line).toBe("");
  });

  it("prints nothing when stderr is not a TTY, and nothing with show: false", async () => {
    for (const [tty, show] of [
      [false, true],
      [true, false],
    ] as const) {
      const [id] = await ctld.submit(1);
      const t = term(tty);
      const done = waitForStart(ctld.connection, id!, 1, { stream: t, show });
      await cancel(id!);
      await done;
      expect(t.written).toBe("");
    }
  });

  it("fails clearly for a job that does not exist", async () => {
    await expect(waitForStart(ctld.connection, 999_999, 1, { stream: term(false) })).rejects.toThrow("job 999999 does not exist");
  });
});
