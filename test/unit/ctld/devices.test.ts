import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../../src/core/config";
import { JobSpec, JobStatus, JobType, StepSpec, type StepToD } from "../../../src/core/generated/crane/crane";
import type { Logger } from "../../../src/core/log";
import { assignDevices, deviceIndex, gresCount, pickStepDevices, stepDevices } from "../../../src/modes/ctld/devices";
import { JobManager } from "../../../src/modes/ctld/job-manager";
import { NodeRegistry } from "../../../src/modes/ctld/nodes";
import { JobStore } from "../../../src/modes/ctld/store";

describe("assignDevices", () => {
  const node = { "gpu:a100": ["/dev/nvidia0", "/dev/nvidia1"], "gpu:h100": ["/dev/nvidia2", "/dev/nvidia3"] };

  it("hands out only devices nobody holds, in the node's order", () => {
    const held = new Set(["/dev/nvidia0", "/dev/nvidia2"]);
    expect(assignDevices(node, held, { "gpu:a100": 1, "gpu:h100": 1 })).toEqual({
      devices: { "gpu:a100": ["/dev/nvidia1"], "gpu:h100": ["/dev/nvidia3"] },
      short: [],
    });
  });

  it("reports a shortfall instead of sharing a held device", () => {
    const r = assignDevices(node, new Set(["/dev/nvidia0"]), { "gpu:a100": 2 });
    expect(r.devices).toEqual({ "gpu:a100": ["/dev/nvidia1"] });
    expect(r.short).toEqual(["gpu:a100: 1 of 2 free"]);
  });

  it("gives a step asking for part of the job's devices those its running siblings do not hold", () => {
    const job = { "gpu:a100": ["/dev/nvidia0", "/dev/nvidia1"], "gpu:h100": ["/dev/nvidia2"] };
    expect(pickStepDevices(job, { gpu: 1 }, new Set())).toEqual({ "gpu:a100": ["/dev/nvidia0"] });
    expect(pickStepDevices(job, { gpu: 1 }, new Set(["/dev/nvidia0"]))).toEqual({ "gpu:a100": ["/dev/nvidia1"] });
    expect(pickStepDevices(job, { gpu: 2 }, new Set(["/dev/nvidia0"]))).toEqual({ "gpu:a100": ["/dev/nvidia1"], "gpu:h100": ["/dev/nvidia2"] });
    // More than are free: the least needed overlap with a sibling.
    expect(pickStepDevices(job, { "gpu:a100": 2 }, new Set(["/dev/nvidia0"]))).toEqual({ "gpu:a100": ["/dev/nvidia1", "/dev/nvidia0"] });
    expect(pickStepDevices(job, { license: 1 }, new Set())).toEqual({});
    expect(gresCount({ "gpu:a100": 2, "gpu:h100": 1, license: 3 }, "gpu")).toBe(3);
  });

  it("gives nothing for GRES without device files", () => {
    expect(assignDevices({}, new Set(), { license: 2 })).toEqual({ devices: {}, short: [] });
  });

  it("gives a step the job's devices of the keys it asks for, with host GPU indices", () => {
    const r = stepDevices({ "gpu:h100": ["/dev/nvidia3"] }, { gpu: 1 }, node);
    expect(r).toEqual({ files: ["/dev/nvidia3"], gpuIds: [3] });
    expect(stepDevices({ "gpu:h100": ["/dev/nvidia3"] }, {}, node)).toEqual({ files: [], gpuIds: [] });
    expect(deviceIndex("/dev/dri/renderD", 2)).toBe(2);
  });
});

// ---------------------------------------------------------------------------- ctld's job manager

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A ctld job manager on a real store, with one 2-GPU node whose craned accepts every dispatch. */
function ctld(stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-jm-"))) {
  dirs.push(stateDir);
  const config = parseConfig(
    {
      Nodes: [{ name: "n1", cpu: 8, memory: "8G", gres: [{ name: "gpu", type: "sim", DeviceFileList: ["/dev/sim0", "/dev/sim1"] }] }],
      Partitions: [{ name: "CPU", nodes: "ALL" }],
    },
    "",
  );
  const store = new JobStore(stateDir);
  const nodes = new NodeRegistry(config);
  const dispatched: StepToD[] = [];
  const client = {
    executeStep(req: { step: StepToD }, _md: unknown, _opts: unknown, cb: (e: null, r: { ok: boolean; reason: string }) => void) {
      dispatched.push(req.step);
      cb(null, { ok: true, reason: "" });
    },
    freeJob(_req: unknown, _md: unknown, _opts: unknown, cb: (e: null, r: { ok: boolean }) => void) {
      cb(null, { ok: true });
    },
  };
  Object.assign(nodes.get("n1")!, { up: true, registered: true, lastSeen: Date.now(), client });
  const jm = new JobManager(config, store, nodes, quiet);
  return { jm, store, dispatched, stateDir };
}

const gpuJob = (gpus: number) =>
  JobSpec.fromPartial({ type: JobType.Batch, name: "g", cpusPerTask: 1, gresPerNode: { gpu: gpus }, shScript: "true", cwd: "/" });
const tick = () => new Promise((r) => setTimeout(r, 20));

describe("JobManager", () => {
  it("keeps a finished job visible until its final save has committed", async () => {
    const { jm, store } = ctld();
    const id = await jm.submitJob(gpuJob(0), { uid: 0, gid: 0 });
    const job = jm.jobs.get(id)!;
    void jm.cancel(job.jobId, undefined, { uid: 0 }); // a pending job finishes at once
    expect(jm.jobs.has(id)).toBe(false);
    expect(store.loadFinished(10, [id])).toEqual([]); // not committed yet...
    expect(jm.findJob(id)?.status).toBe(JobStatus.Cancelled); // ...but still answered
    expect(jm.loadFinished(10).map((j) => j.jobId)).toEqual([id]);
    await tick();
    expect(store.loadFinished(10, [id])[0]?.status).toBe(JobStatus.Cancelled);
    expect(jm.loadFinished(10, [id]).map((j) => j.jobId)).toEqual([id]);
  });

  it("gives two 1-GPU jobs on a 2-GPU node different devices, frees them at job end and after a restart", async () => {
    const { jm, dispatched, stateDir, store } = ctld();
    const a = await jm.submitJob(gpuJob(1), { uid: 0, gid: 0 });
    const b = await jm.submitJob(gpuJob(1), { uid: 0, gid: 0 });
    jm.scheduleCycle();
    await tick();
    const files = (id: number) => dispatched.filter((s) => s.jobId === id).flatMap((s) => s.deviceFiles);
    expect(files(a)).toHaveLength(1);
    expect(files(b)).toHaveLength(1);
    expect(new Set([...files(a), ...files(b)])).toEqual(new Set(["/dev/sim0", "/dev/sim1"]));
    expect(dispatched.find((s) => s.jobId === a)!.gpuIds).toEqual([Number(files(a)[0]!.slice(-1))]);

    // A ctld restart rebuilds who holds what from the saved jobs: a third job waits, then gets a's device once a ends.
    store.close();
    const again = ctld(stateDir);
    const c = await again.jm.submitJob(gpuJob(1), { uid: 0, gid: 0 });
    again.jm.scheduleCycle();
    expect(again.jm.jobs.get(c)!.status).toBe(JobStatus.Pending);
    await again.jm.cancel(a, undefined, { uid: 0 });
    await tick();
    expect(again.jm.jobs.has(a)).toBe(false);
    again.jm.scheduleCycle();
    await tick();
    expect(again.dispatched.filter((s) => s.jobId === c).flatMap((s) => s.deviceFiles)).toEqual(files(a));
    again.jm.stop();
    again.store.close();
  });
  it("a submission the disk refused is not accepted: the caller gets the error and the job never runs", async () => {
    const { jm, store, dispatched } = ctld();
    const save = store.save.bind(store);
    store.save = () => Promise.reject(new Error("disk full"));
    await expect(jm.submitJob(gpuJob(0), { uid: 0, gid: 0 })).rejects.toThrow("disk full");
    store.save = save;
    expect(jm.jobs.size).toBe(0);
    jm.scheduleCycle();
    await tick();
    expect(dispatched).toEqual([]);
  });

  it("a background save that fails is retried until it is on disk, without crashing ctld", async () => {
    const { jm, store, dispatched } = ctld();
    const id = await jm.submitJob(gpuJob(0), { uid: 0, gid: 0 });
    const save = store.save.bind(store);
    let refused = 0;
    store.save = (job) => (refused++ === 0 ? Promise.reject(new Error("disk full")) : save(job));
    jm.scheduleCycle(); // starts the job: its save fails once, and the dispatch waits for the retry
    await tick();
    expect(dispatched).toEqual([]);
    await vi.waitFor(() => expect(dispatched.map((s) => s.jobId)).toEqual([id]), { timeout: 5000, interval: 50 });
    expect(refused).toBeGreaterThan(1);
    expect(store.loadActive().find((j) => j.jobId === id)?.status).toBe(JobStatus.Configuring);
  });
  it("gives 1-GPU steps of a 2-GPU job different devices while both run, and a freed one to the next", async () => {
    const { jm, dispatched } = ctld();
    const id = await jm.submitJob(gpuJob(2), { uid: 0, gid: 0 });
    jm.scheduleCycle();
    await tick();
    const report = (stepId: number, status: JobStatus) =>
      jm.onStepReport({
        node: "n1",
        jobId: id,
        stepId,
        status,
        exitCode: 0,
        reason: "",
        timestamp: Date.now(),
        containerId: "",
        maxRssBytes: 0,
        cpuTimeUsec: 0,
      });
    await report(1, JobStatus.Running);
    const step = () =>
      jm.submitStep(StepSpec.fromPartial({ jobId: id, type: JobType.Interactive, argv: ["true"], cwd: "/", gresPerNode: { gpu: 1 }, gresGiven: true }), {
        uid: 0,
        gid: 0,
      });
    const devicesOf = (stepId: number) => dispatched.find((s) => s.jobId === id && s.stepId === stepId)!.deviceFiles;
    expect(devicesOf(1).sort()).toEqual(["/dev/sim0", "/dev/sim1"]); // the batch script inherits both
    const a = await step();
    const b = await step();
    await tick();
    expect(devicesOf(a)).toHaveLength(1);
    expect(devicesOf(b)).toHaveLength(1);
    expect(new Set([...devicesOf(a), ...devicesOf(b)])).toEqual(new Set(["/dev/sim0", "/dev/sim1"]));
    expect(dispatched.find((s) => s.stepId === a)!.gpuIds).toEqual([Number(devicesOf(a)[0]!.slice(-1))]);
    await report(a, JobStatus.Running);
    await report(b, JobStatus.Running);
    await report(a, JobStatus.Completed);
    const c = await step();
    await tick();
    expect(devicesOf(c)).toEqual(devicesOf(a));
    jm.stop();
  });
});
