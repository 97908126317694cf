import { describe, expect, it } from "vitest";
import { JobStatus, JobType } from "../../../src/core/generated/crane/crane";
import { NODE_UNFIT_MS } from "../../../src/modes/ctld/lifecycle";
import { LifecycleHarness } from "../../harness/ctld-lifecycle";

const PRIMARY = 1;

describe("ctld lifecycle: a batch job from submission to its end", () => {
  it("starts once its start is saved, runs, and ends with its primary step's exit code once every node freed it", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.submit();
    const placed = h.schedule();
    expect(job.status).toBe(JobStatus.Configuring);
    // The launch follows the save of the start, never precedes it.
    expect(placed.map((e) => e.kind)).toEqual(["save"]);
    expect(h.of("launch").map((e) => [e.step.stepId, e.nodes])).toEqual([[PRIMARY, ["n1"]]]);

    h.report(job, PRIMARY, "n1", JobStatus.Running);
    expect(job.status).toBe(JobStatus.Running);
    const ended = h.report(job, PRIMARY, "n1", JobStatus.Failed, 3, "exited with 3");
    expect(job.status).toBe(JobStatus.Completing);
    expect(ended.filter((e) => e.kind === "free").map((e) => e.kind === "free" && e.node)).toEqual(["n1"]);
    expect(h.jobs.has(job.jobId)).toBe(true);

    h.freeAll(job);
    expect(job.status).toBe(JobStatus.Failed);
    expect(job.exitCode).toBe(3);
    expect(job.endTime).toBe(h.clock.wall);
    expect(h.jobs.has(job.jobId)).toBe(false);
    expect(h.of("finished").map((e) => e.job)).toEqual([job]);
    expect(h.errors).toEqual([]);
  });

  it("saves a job once per event however many records the event changed", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.running({ nodeNum: 2 });
    const effects = h.report(job, PRIMARY, "n1", JobStatus.Completed);
    expect(effects.filter((e) => e.kind === "save")).toHaveLength(1);
  });

  it("ignores a late or duplicate report: a finished step or job is never revived or ended again", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.running();
    h.report(job, PRIMARY, "n1", JobStatus.Completed);
    h.freeAll(job);
    expect(job.status).toBe(JobStatus.Completed);
    const before = h.effects.length;

    expect(h.report(job, PRIMARY, "n1", JobStatus.Running)).toEqual([]);
    expect(h.report(job, PRIMARY, "n1", JobStatus.Failed, 9)).toEqual([]);
    expect(h.lifecycle.cancel(job, undefined, { uid: 0 }, undefined, h.clock.now()).effects).toEqual([]);
    h.tick();
    expect(h.effects.length).toBe(before);
    expect(job.status).toBe(JobStatus.Completed);
    expect(h.step(job, PRIMARY).status).toBe(JobStatus.Completed);
    expect(job.exitCode).toBe(0);
  });

  it("keeps a node's first terminal report for a step that is still running elsewhere", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.running({ nodeNum: 2, type: JobType.Batch });
    const step = h.addStep(job, { nodeNum: 2 });
    for (const n of ["n1", "n2"]) h.report(job, step.stepId, n, JobStatus.Running);
    h.report(job, step.stepId, "n1", JobStatus.Completed);
    h.report(job, step.stepId, "n1", JobStatus.Failed, 7);
    expect(step.perNode.n1?.status).toBe(JobStatus.Completed);
    h.report(job, step.stepId, "n2", JobStatus.Completed);
    expect(step.status).toBe(JobStatus.Completed);
    expect(step.exitCode).toBe(0);
  });
});

describe("ctld lifecycle: time", () => {
  it("ends a job at its time limit, measured on the monotonic clock", () => {
    const h = new LifecycleHarness({ cranedTimeoutSeconds: 600 });
    h.allNodesUp();
    const job = h.running({ timeLimitSeconds: 60 });
    h.clock.jumpWall(3_600_000); // an administrator sets the clock an hour ahead: no limit is reached by that
    h.tick(59_000);
    expect(job.status).toBe(JobStatus.Running);
    h.tick(2_000);
    expect(job.status).toBe(JobStatus.Completing);
    expect(job.endRequested).toBe(JobStatus.ExceedTimeLimit);
    h.report(job, PRIMARY, "n1", JobStatus.Failed, 0, "killed");
    h.freeAll(job);
    expect(job.status).toBe(JobStatus.ExceedTimeLimit);
  });

  it("asks the nodes to stop a step past its own time limit, and the step ends as ExceedTimeLimit", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.running();
    const step = h.addStep(job, { timeLimitSeconds: 5 });
    h.report(job, step.stepId, "n1", JobStatus.Running);
    h.nodeUp("n1");
    h.tick(6_000);
    expect(h.of("terminate").map((e) => [e.step.stepId, e.nodes, e.reasonStatus])).toEqual([[step.stepId, ["n1"], JobStatus.ExceedTimeLimit]]);
    h.report(job, step.stepId, "n1", JobStatus.Failed, 0, "signal SIGTERM");
    expect(step.status).toBe(JobStatus.ExceedTimeLimit);
    expect(job.status).toBe(JobStatus.Running);
  });

  it("marks a silent node down after the timeout and fails its jobs, or requeues batch jobs when configured", () => {
    for (const requeue of [false, true]) {
      const h = new LifecycleHarness({ cranedTimeoutSeconds: 30, jobRequeue: requeue });
      h.allNodesUp();
      const job = h.running();
      h.tick(29_000);
      expect(h.nodes.get("n1")!.up).toBe(true);
      h.tick(2_000);
      expect(h.nodes.get("n1")!.up).toBe(false);
      expect(h.of("nodeChanged").map((e) => e.node)).toContain("n1");
      if (requeue) {
        expect(job.status).toBe(JobStatus.Pending);
        expect(job.pendingReason).toBe("Requeued");
        expect(job.requeueCount).toBe(1);
      } else {
        expect(job.status).toBe(JobStatus.Failed);
        expect(job.reason).toBe("node n1 went down");
      }
    }
  });

  it("gives nodes a full timeout to come back after a ctld restart before declaring them down", () => {
    const h = new LifecycleHarness({ cranedTimeoutSeconds: 30 });
    h.tick(29_000);
    expect(h.nodes.get("n1")!.reason).toBe("not registered yet");
    h.tick(2_000);
    expect(h.nodes.get("n1")!.reason).toBe("never registered");
  });
});

describe("ctld lifecycle: who may do what", () => {
  it("lets the owner and an administrator cancel a job, and nobody else", () => {
    const h = new LifecycleHarness({ adminUids: [500] });
    h.allNodesUp();
    const job = h.running({}, 1000);
    expect(h.cancel(job, 1001)).toMatch(/Permission denied/);
    expect(job.status).toBe(JobStatus.Running);
    expect(h.lifecycle.mayControl(1000, job)).toBe(true);
    expect(h.lifecycle.mayControl(500, job)).toBe(true);
    expect(h.lifecycle.mayControl(0, job)).toBe(true);
    expect(h.lifecycle.mayControl(1001, job)).toBe(false);
    expect(h.cancel(job, 500)).toBe("");
    expect(job.status).toBe(JobStatus.Completing);
    expect(job.endRequested).toBe(JobStatus.Cancelled);
  });

  it("a cancelled pending job ends at once without asking any node", () => {
    const h = new LifecycleHarness();
    const job = h.submit();
    expect(h.cancel(job, 1000)).toBe("");
    expect(job.status).toBe(JobStatus.Cancelled);
    expect(h.of("free")).toEqual([]);
    expect(h.jobs.has(job.jobId)).toBe(false);
  });

  it("a cancelled running step is told to stop and ends Cancelled even if it then exits 0", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.running();
    const step = h.addStep(job);
    h.report(job, step.stepId, "n1", JobStatus.Running);
    expect(h.cancel(job, 1000, step.stepId)).toBe("");
    expect(h.of("terminate")).toHaveLength(1);
    h.report(job, step.stepId, "n1", JobStatus.Completed);
    expect(step.status).toBe(JobStatus.Cancelled);
    expect(h.cancel(job, 1000, step.stepId)).toMatch(/already finished/);
  });
});

describe("ctld lifecycle: nodes and launches", () => {
  it("fails a step whose node is down at launch, and a job whose launch the node refused", () => {
    const h = new LifecycleHarness();
    h.nodeUp("n1");
    const job = h.submit({ nodelist: ["n2"] });
    h.nodeUp("n2");
    h.schedule();
    expect(job.nodes).toEqual(["n2"]);
    const other = h.submit();
    h.schedule();
    h.record(h.lifecycle.launchFailed(other, h.step(other, PRIMARY), other.nodes[0]!, "launch on node n1 failed: boom", h.clock.now()));
    expect(h.step(other, PRIMARY).status).toBe(JobStatus.Failed);
    expect(other.status).toBe(JobStatus.Completing);

    Object.assign(h.nodes.get("n2")!, { up: false });
    const step = h.addStep(job);
    expect(step.status).toBe(JobStatus.Pending); // the job is not running yet: it waits
    h.report(job, PRIMARY, "n2", JobStatus.Running);
    expect(h.of("launch").filter((e) => e.step === step)).toEqual([]);
    expect(step.status).toBe(JobStatus.Failed);
    expect(step.reason).toBe("node n2 is not available");
  });

  it("a launch refused for the node's full disk requeues a job of which nothing ran, and keeps new jobs off that node for a while", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.submit();
    h.schedule();
    const [node] = job.nodes;
    h.record(h.lifecycle.launchFailed(job, h.step(job, PRIMARY), node!, "the disk of node n1's state directory is full", h.clock.now(), true));
    expect(job.status).toBe(JobStatus.Pending);
    expect(job.pendingReason).toBe("Requeued");
    expect(job.requeueCount).toBe(1);
    // Placed again, not on the full node while it is unfit.
    h.schedule();
    expect(job.status).toBe(JobStatus.Configuring);
    expect(job.nodes).not.toContain(node);

    // A job whose work already runs is not started twice: its refused step fails as before.
    const running = h.running({ nodelist: job.nodes });
    const step = h.addStep(running);
    h.record(h.lifecycle.launchFailed(running, step, running.nodes[0]!, "the disk is full", h.clock.now(), true));
    expect(step.status).toBe(JobStatus.Failed);
    expect(running.status).toBe(JobStatus.Running);
  });

  it("a node unfit after a full disk takes jobs again once the while has passed", () => {
    const h = new LifecycleHarness();
    h.nodeUp("n1");
    const job = h.submit({ nodelist: ["n1"] });
    h.schedule();
    h.record(h.lifecycle.launchFailed(job, h.step(job, PRIMARY), "n1", "full", h.clock.now(), true));
    h.schedule();
    expect(job.status).toBe(JobStatus.Pending);
    expect(h.lifecycle.tick(h.clock.now()).some((e) => e.kind === "reschedule")).toBe(false);
    h.clock.advance(NODE_UNFIT_MS + 1);
    // Nothing else may happen meanwhile: the tick that sees the spell over asks for the scheduling pass.
    expect(h.lifecycle.tick(h.clock.now()).some((e) => e.kind === "reschedule")).toBe(true);
    h.schedule();
    expect(job.status).toBe(JobStatus.Configuring);
    expect(job.nodes).toEqual(["n1"]);
  });

  it("a node that comes back without a step fails that step; steps of ended jobs are orphans to drop and free", () => {
    const h = new LifecycleHarness();
    h.allNodesUp();
    const job = h.running();
    const { orphans, effects } = h.lifecycle.nodeRegistered(h.nodes.get("n1")!, [{ jobId: 99, stepId: 1 }], h.clock.now());
    h.record(effects);
    expect(orphans).toEqual([{ jobId: 99, stepId: 1 }]);
    expect(h.of("freeEnded")).toEqual([{ kind: "freeEnded", jobId: 99, node: "n1" }]);
    expect(h.step(job, PRIMARY).status).toBe(JobStatus.Failed);
    expect(h.step(job, PRIMARY).reason).toBe("lost: node n1 restarted without it");
    expect(job.status).toBe(JobStatus.Completing);
  });

  it("a container job starts its pod and its container together; a `cbatch --pod` script waits for the pod", () => {
    const h = new LifecycleHarness();
    h.config.container.enabled = true;
    h.allNodesUp();
    const ccon = h.submit({ type: JobType.Container, podMeta: {}, containerMeta: { image: { image: "busybox" } } } as never);
    h.schedule();
    expect(h.of("launch").map((e) => e.step.stepId)).toEqual([0, PRIMARY]);

    const pod = h.submit({ type: JobType.Container, podMeta: {} } as never);
    h.schedule();
    expect(
      h
        .of("launch")
        .filter((e) => e.job === pod)
        .map((e) => e.step.stepId),
    ).toEqual([0]);
    h.report(pod, 0, pod.nodes[0]!, JobStatus.Running);
    expect(pod.status).toBe(JobStatus.Starting);
    expect(
      h
        .of("launch")
        .filter((e) => e.job === pod)
        .map((e) => e.step.stepId),
    ).toEqual([0, PRIMARY]);
    expect(ccon.status).toBe(JobStatus.Configuring);
  });
});
