// crane top's Ink app against a fake backend: what the tables show, the filters, and what each key does.
import { createElement } from "react";
import { render } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { JobStatus, JobType, StepInfo } from "../../../src/core/generated/crane/crane";
import { TopApp, type TopOptions } from "../../../src/ui/top/App";
import { FakeBackend, job, node, running } from "./fake-backend";

const KEY = { down: "\u001B[B", up: "\u001B[A", enter: "\r", esc: "\u001B", tab: "\t" };
const OPTS: TopOptions = { me: "alice", all: true, state: "active", sort: "id" };

let app: ReturnType<typeof render> | undefined;
afterEach(() => {
  app?.unmount();
  app = undefined;
});

function start(opts: Partial<TopOptions> = {}) {
  const backend = new FakeBackend();
  app = render(createElement(TopApp, { backend, options: { ...OPTS, ...opts } }));
  return { backend, app };
}

/** Waits until the frame satisfies `pred` (renders are asynchronous); fails with the last frame. */
async function frameWhere(pred: (f: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const f = app!.lastFrame() ?? "";
    if (pred(f)) return f;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the screen never showed ${what}; last frame:\n${app!.lastFrame()}`);
}
const shows = (text: string) => frameWhere((f) => f.includes(text), JSON.stringify(text));
const selectedLine = (f: string) => f.split("\n").find((l) => l.startsWith("› ")) ?? "";
async function press(...keys: string[]) {
  for (const k of keys) {
    app!.stdin.write(k);
    // One key per input event, as a person types.
    await new Promise((r) => setTimeout(r, 30));
  }
}

describe("crane top", () => {
  it("lists the jobs of the snapshot with state, time / limit and nodes or pending reason", async () => {
    const { backend } = start();
    backend.emit({ reset: true, synced: true, jobs: [running(7), job(8, { pendingReason: "Resource", username: "bob" })] });
    const f = await shows("job8");
    expect(f).toMatch(/7\s+job7\s+alice\s+CPU\s+Running\s+00:01:0\d \/ 01:00:00\s+n1/);
    expect(f).toMatch(/8\s+job8\s+bob\s+CPU\s+Pending\s+- \/ unlimited\s+\(Resource\)/);
    expect(f).toContain("jobs 2 (running 1, pending 1)");
    expect(f).toContain("● live");
    expect(f).toMatch(/q\s+quit/);
  });

  it("applies changes after the snapshot: a new job appears, an ended one leaves the active view", async () => {
    const { backend } = start();
    backend.emit({ reset: true, synced: true, jobs: [running(1), job(2)] });
    await shows("job2");
    backend.emit({ jobs: [job(3), { ...running(1), status: JobStatus.Completed, endTime: Date.now() }] });
    const f = await frameWhere((x) => x.includes("job3") && !x.includes("job1"), "job3 without job1");
    expect(f).toContain("showing 2");
  });

  it("toggles mine/all and cycles the state filter", async () => {
    const { backend } = start({ all: false });
    backend.emit({ reset: true, synced: true, jobs: [running(1), job(2, { username: "bob" }), job(3, { status: JobStatus.Failed })] });
    let f = await shows("job1");
    expect(f).toContain("mine (alice)");
    expect(f).not.toContain("job2");
    await press("m");
    f = await shows("all users");
    expect(f).toContain("job2");
    await press("f"); // pending
    f = await frameWhere((x) => x.includes("pending, sort"), "the pending filter");
    expect(f).toContain("job2");
    expect(f).not.toContain("job1");
    app!.stdin.write("ff"); // running, ended: two keys in one read
    f = await frameWhere((x) => x.includes("ended, sort"), "the ended filter");
    expect(f).toContain("job3");
    expect(f).not.toContain("job2");
  });

  it("sorts by another column and reverses", async () => {
    const { backend } = start();
    backend.emit({ reset: true, synced: true, jobs: [job(1, { name: "zeta" }), job(2, { name: "alpha" }), job(3, { name: "mid" })] });
    await shows("zeta");
    const order = (f: string) => ["zeta", "alpha", "mid"].sort((a, b) => f.indexOf(a) - f.indexOf(b));
    expect(order(app!.lastFrame()!)).toEqual(["zeta", "alpha", "mid"]);
    await press("o"); // name
    let f = await shows("sort name ↑");
    expect(order(f)).toEqual(["alpha", "mid", "zeta"]);
    await press("r");
    f = await shows("sort name ↓");
    expect(order(f)).toEqual(["zeta", "mid", "alpha"]);
  });

  it("moves the selection with the arrows and keeps it on the same job when rows move", async () => {
    const { backend } = start();
    backend.emit({ reset: true, synced: true, jobs: [job(10), job(20), job(30)] });
    await shows("job30");
    expect(selectedLine(app!.lastFrame()!)).toContain("job10");
    await press(KEY.down, KEY.down);
    expect(selectedLine(await shows("› 30"))).toContain("job30");
    await press(KEY.up);
    await shows("› 20");
    backend.emit({ jobs: [job(5)] }); // sorts before the selection
    const f = await shows("job5");
    expect(selectedLine(f)).toContain("job20");
  });

  it("opens a job's steps with image, state and node, and follows the selected step's log", async () => {
    const { backend } = start();
    const steps = [
      StepInfo.fromPartial({ jobId: 4, stepId: 0, name: "pod", status: JobStatus.Running, nodes: ["n1"], type: JobType.Container }),
      StepInfo.fromPartial({
        jobId: 4,
        stepId: 1,
        name: "web",
        status: JobStatus.Running,
        nodes: ["n1"],
        type: JobType.Container,
        containerMeta: { image: { image: "busybox:latest" } },
      }),
    ];
    backend.emit({ reset: true, synced: true, jobs: [running(4, { type: JobType.Container, steps })] });
    await shows("job4");
    await press(KEY.enter);
    let f = await shows("STEP");
    expect(f).toMatch(/4\.0\s+pod\s+pod\s+Running/);
    expect(f).toMatch(/4\.1\s+web\s+container\s+Running\s+busybox:latest\s+n1/);
    await press(KEY.down, KEY.enter);
    await shows("log 4.1");
    backend.log("4.1", "hello from web", "second line");
    f = await shows("second line");
    expect(f).toContain("hello from web");
    await press(KEY.esc);
    await shows("JOBID");
    expect(backend.logs.get("4.1")!.stopped).toBe(true);
  });

  it("acts on the job the selection shows when keys arrive together (paste, tmux send-keys)", async () => {
    const { backend } = start();
    backend.emit({ reset: true, synced: true, jobs: [job(1), job(2), job(3)] });
    await shows("job3");
    app!.stdin.write(`${KEY.down}${KEY.up}${KEY.down}${KEY.down}x`);
    const f = await shows("Cancel job 3 (job3)? [y/N]");
    expect(selectedLine(f)).toContain("job3");
  });

  it("takes Esc and a key typed right after it (one Alt+key sequence) as two keys", async () => {
    const { backend } = start();
    backend.emit({ reset: true, synced: true, jobs: [job(1), job(2)] });
    await shows("job2");
    await press(KEY.enter);
    await shows("STEP");
    app!.stdin.write(`${KEY.esc}j`);
    const f = await shows("› 2");
    expect(f).toContain("JOBID");
  });

  it("cancels a job only after y, and reports what happened", async () => {
    const { backend } = start();
    backend.emit({ reset: true, synced: true, jobs: [running(1), running(2)] });
    await shows("job2");
    await press(KEY.down, "x");
    await shows("Cancel job 2 (job2)? [y/N]");
    await press("n");
    await shows("nothing done");
    expect(backend.cancels).toEqual([]);
    await press("x", "y");
    await shows("job 2: cancel requested");
    expect(backend.cancels).toEqual([{ jobId: 2, stepId: undefined }]);
    backend.cancelReply = "Permission denied: the job belongs to another user";
    await press("x", "y");
    await shows("failed: Permission denied");
  });

  it("cancels a step and stops a container from the steps view", async () => {
    const { backend } = start();
    const steps = [
      StepInfo.fromPartial({
        jobId: 4,
        stepId: 1,
        name: "main",
        status: JobStatus.Running,
        nodes: ["n1"],
        type: JobType.Container,
        containerMeta: { image: { image: "img" } },
      }),
      StepInfo.fromPartial({ jobId: 4, stepId: 2, name: "proc", status: JobStatus.Running, nodes: ["n1"], type: JobType.Interactive }),
    ];
    backend.emit({ reset: true, synced: true, jobs: [running(4, { type: JobType.Container, steps })] });
    await shows("job4");
    await press(KEY.enter);
    await shows("STEP");
    await press("s");
    await shows("Stop container 4.1 (SIGTERM, then SIGKILL)? [y/N]");
    await press("y");
    await shows("container 4.1: stop requested");
    await press(KEY.down, "s");
    await shows("step 4.2 is not a container");
    await press("x");
    await shows("Cancel step 4.2 (proc)? [y/N]");
    await press("y");
    await shows("step 4.2: cancel requested");
    expect(backend.cancels).toEqual([
      { jobId: 4, stepId: 1 },
      { jobId: 4, stepId: 2 },
    ]);
  });

  it("shows nodes with CPU, memory and GPU allocation bars, and goes back", async () => {
    const { backend } = start();
    backend.emit({
      reset: true,
      synced: true,
      jobs: [job(1)],
      nodes: [node("n1"), node("n2", { state: "down", reason: "no heartbeat for 31 s", allocated: { cpu: 0, memoryBytes: 0, gres: {} } })],
      partitions: [{ name: "CPU", nodes: ["n1", "n2"], up: true, priority: 0, maxTimeSeconds: 0, isDefault: true }],
    });
    await shows("job1");
    await press("n");
    const f = await shows("NODE");
    expect(f).toMatch(/n1\s+mix\s+CPU\s+███░░░░░░░░░ 1\/4\s+███░░░░░░░░░ 2\.0G\/8\.0G\s+██████░░░░░░ 1\/2/);
    expect(f).toMatch(/n2\s+down.*\n\s+└ no heartbeat for 31 s/);
    expect(f).toMatch(/CPU\*\s+up\s+nodes n1,n2/);
    await press(KEY.esc);
    await shows("JOBID");
  });

  it("says when the stream is down and comes back live on the next snapshot", async () => {
    const { backend } = start();
    backend.emit({ reset: true, synced: true, jobs: [job(1)] });
    await shows("● live");
    backend.status("Connection to CraneCtld is broken. (retrying in 1 s)");
    await shows("⚠ Connection to CraneCtld is broken.");
    backend.emit({ reset: true, synced: true, jobs: [job(1), job(2)] });
    await shows("job2");
    await shows("● live");
  });
});
