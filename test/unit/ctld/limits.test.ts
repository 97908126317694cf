// The bounds that protect ctld (limits.ts) and their config keys (config-limits.ts): each refusal names the limit,
// the value asked and the key; root is exempt from the per-user limits; MaxJobsPerUser keeps jobs Pending.
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/core/config";
import { DEFAULT_LIMITS } from "../../../src/core/config-limits";
import { ErrCode, JobSpec, JobStatus, QueryJobsRequest, StepSpec } from "../../../src/core/generated/crane/crane";
import { ActiveJobs } from "../../../src/modes/ctld/active-jobs";
import {
  QueryRejection,
  USER_RUN_LIMIT_REASON,
  checkBatchSubmission,
  checkJobSubmission,
  checkQueryItems,
  checkStepSubmission,
  publicMaxReceiveBytes,
  querySets,
  scheduleUnderUserLimit,
  specBytes,
} from "../../../src/modes/ctld/limits";
import type { JobRecord } from "../../../src/modes/ctld/records";
import { Rejection } from "../../../src/modes/ctld/rejection";
import { Rejection as JobManagerRejection } from "../../../src/modes/ctld/job-manager";
import { schedule, type Snapshot } from "../../../src/modes/ctld/scheduler";

const config = (ctld: Record<string, unknown> = {}, craned: Record<string, unknown> = {}) =>
  parseConfig(
    {
      Nodes: [
        { name: "n1", cpu: 4, memory: "8G" },
        { name: "n2", cpu: 16, memory: "8G" },
        { name: "n3", cpu: 64, memory: "8G" },
      ],
      Partitions: [
        { name: "small", nodes: "n[1-2]" },
        { name: "big", nodes: "n3" },
      ],
      DefaultPartition: "small",
      CraneCtld: ctld,
      Craned: craned,
    },
    "/etc/crane/config.yaml",
  );

function rejected(fn: () => void): Rejection {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Rejection);
    return e as Rejection;
  }
  throw new Error("not refused");
}

const spec = (over: Partial<JobSpec> = {}) => JobSpec.fromPartial({ name: "j", shScript: "#!/bin/sh\ntrue\n", nodeNum: 1, cpusPerTask: 1, ...over });

describe("config keys", () => {
  it("have their defaults", () => {
    const c = config();
    expect(c.limits).toEqual(DEFAULT_LIMITS);
    expect(c.limits.maxJobsPerUser).toBe(0);
    expect(c.limits.maxSubmitJobsPerUser).toBe(100_000);
    expect(c.limits.maxJobsPerSubmit).toBe(10_000);
    expect(c.limits.maxQueryItems).toBe(10_000);
    expect(c.limits.maxSpecBytes).toBe(1024 * 1024);
    expect(c.limits.allowTaskOversubscription).toBe(false);
    expect(c.privateData).toBe(true);
    expect(c.jobPidsMax).toBe(4096);
    expect(c.stepLogLimits).toEqual({ maxBytes: 0, maxFiles: 1 });
  });

  it("are read from CraneCtld and Craned, sizes with or without a unit", () => {
    const c = config(
      {
        MaxJobsPerUser: 3,
        MaxSubmitJobsPerUser: "0",
        MaxJobsPerSubmit: 50,
        MaxQueryItems: 7,
        MaxSpecBytes: "2M",
        AllowTaskOversubscription: true,
        PrivateData: false,
      },
      { JobPidsMax: 0, LogMaxSize: "64M", LogMaxFiles: 3 },
    );
    expect(c.limits).toEqual({
      maxJobsPerUser: 3,
      maxSubmitJobsPerUser: 0,
      maxJobsPerSubmit: 50,
      maxQueryItems: 7,
      maxSpecBytes: 2 * 1024 * 1024,
      allowTaskOversubscription: true,
    });
    expect(c.privateData).toBe(false);
    expect(c.jobPidsMax).toBe(0);
    expect(c.stepLogLimits).toEqual({ maxBytes: 64 * 1024 * 1024, maxFiles: 3 });
    expect(config({ MaxSpecBytes: 4096 }).limits.maxSpecBytes).toBe(4096);
  });

  it("refuse bad values with the key and the file", () => {
    const bad: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [{ MaxJobsPerUser: -1 }, {}, /CraneCtld\.MaxJobsPerUser in \/etc\/crane\/config\.yaml: expected a whole number >= 0/],
      [{ MaxSubmitJobsPerUser: "many" }, {}, /CraneCtld\.MaxSubmitJobsPerUser/],
      [{ MaxJobsPerSubmit: 0 }, {}, /CraneCtld\.MaxJobsPerSubmit.*>= 1/],
      [{ MaxQueryItems: 1.5 }, {}, /CraneCtld\.MaxQueryItems/],
      [{ MaxSpecBytes: "1X" }, {}, /CraneCtld\.MaxSpecBytes.*1M/],
      [{ PrivateData: "maybe" }, {}, /CraneCtld\.PrivateData.*true or false/],
      [{ AllowTaskOversubscription: 2 }, {}, /CraneCtld\.AllowTaskOversubscription/],
      [{}, { JobPidsMax: "lots" }, /Craned\.JobPidsMax/],
      [{}, { LogMaxSize: "-1M" }, /Craned\.LogMaxSize.*1M/],
      [{}, { LogMaxFiles: 1.5 }, /Craned\.LogMaxFiles/],
    ];
    for (const [ctld, craned, msg] of bad) {
      expect(() => config(ctld, craned)).toThrow(ConfigError);
      expect(() => config(ctld, craned)).toThrow(msg);
    }
  });
});

describe("submission limits", () => {
  it("Rejection is one class, whether imported from rejection.ts or job-manager.ts", () => {
    expect(JobManagerRejection).toBe(Rejection);
  });

  it("refuse a job whose spec is larger than MaxSpecBytes, with the size and the key", () => {
    const c = config({ MaxSpecBytes: 4096 });
    const big = spec({ shScript: "x".repeat(5000) });
    const r = rejected(() => checkJobSubmission(big, { uid: 1000 }, c, 0));
    expect(r.code).toBe(ErrCode.ERR_INVALID_PARAM);
    expect(r.message).toContain(`${specBytes(big)} bytes`);
    expect(r.message).toContain("CraneCtld.MaxSpecBytes");
    expect(r.message).toContain("4 KiB");
    // Environment, arguments and container settings count too.
    expect(() => checkJobSubmission(spec({ env: { A: "y".repeat(5000) } }), { uid: 1000 }, c, 0)).toThrow(/MaxSpecBytes/);
    expect(() => checkJobSubmission(spec({ argv: ["z".repeat(5000)] }), { uid: 1000 }, c, 0)).toThrow(/MaxSpecBytes/);
    expect(() =>
      checkJobSubmission(
        spec({
          containerMeta: {
            image: { image: "i", pullPolicy: "", serverAddress: "", username: "", password: "" },
            name: "",
            command: [],
            args: [],
            workdir: "",
            env: { B: "w".repeat(5000) },
            mounts: [],
            tty: false,
            stdin: false,
            stdinOnce: false,
            detached: false,
          },
        }),
        { uid: 1000 },
        c,
        0,
      ),
    ).toThrow(/MaxSpecBytes/);
    expect(() => checkJobSubmission(spec(), { uid: 1000 }, c, 0)).not.toThrow();
    // Root too: a huge spec stalls ctld whoever sends it.
    expect(() => checkJobSubmission(big, { uid: 0 }, c, 0)).toThrow(/MaxSpecBytes/);
  });

  it("refuse a step whose spec is larger than MaxSpecBytes", () => {
    const c = config({ MaxSpecBytes: 1024 });
    const r = rejected(() => checkStepSubmission(StepSpec.fromPartial({ jobId: 1, env: { X: "v".repeat(2000) } }), c, ["n1"]));
    expect(r.message).toMatch(/step's specification .* bytes.*CraneCtld\.MaxSpecBytes/);
  });

  it("refuse more tasks per node than the largest node of the partition has CPUs, unless AllowTaskOversubscription", () => {
    const c = config();
    // Partition "small": largest node n2 with 16 CPUs.
    expect(() => checkJobSubmission(spec({ ntasksPerNode: 16, cpusPerTask: 0.01 }), { uid: 1000 }, c, 0)).not.toThrow();
    const r = rejected(() => checkJobSubmission(spec({ ntasksPerNode: 17, cpusPerTask: 0.01 }), { uid: 1000 }, c, 0));
    expect(r.code).toBe(ErrCode.ERR_INVALID_PARAM);
    expect(r.message).toContain("17 tasks per node");
    expect(r.message).toContain("16 CPUs");
    expect(r.message).toContain("CraneCtld.AllowTaskOversubscription");
    // ntasks / nodes counts the same way.
    expect(() => checkJobSubmission(spec({ ntasks: 100, nodeNum: 2, cpusPerTask: 0.01 }), { uid: 1000 }, c, 0)).toThrow(/50 tasks per node/);
    expect(() => checkJobSubmission(spec({ ntasks: 32, nodeNum: 2 }), { uid: 1000 }, c, 0)).not.toThrow();
    // Partition "big" has a 64-CPU node.
    expect(() => checkJobSubmission(spec({ partition: "big", ntasksPerNode: 64 }), { uid: 1000 }, c, 0)).not.toThrow();
    expect(() =>
      checkJobSubmission(spec({ ntasksPerNode: 1000, cpusPerTask: 0.001 }), { uid: 1000 }, config({ AllowTaskOversubscription: true }), 0),
    ).not.toThrow();
    // A step: the largest of its job's nodes.
    expect(() => checkStepSubmission(StepSpec.fromPartial({ jobId: 1, ntasksPerNode: 5 }), c, ["n1"])).toThrow(
      /5 tasks per node but the largest node has 4 CPUs/,
    );
    expect(() => checkStepSubmission(StepSpec.fromPartial({ jobId: 1, ntasks: 8 }), c, ["n1", "n2"])).not.toThrow();
    expect(() => checkStepSubmission(StepSpec.fromPartial({ jobId: 1, ntasks: 40 }), c, ["n1", "n2"])).toThrow(/20 tasks per node/);
  });

  it("refuse a job beyond MaxSubmitJobsPerUser, naming the limit and the key; root is exempt", () => {
    const c = config({ MaxSubmitJobsPerUser: 5 });
    expect(() => checkJobSubmission(spec(), { uid: 1000 }, c, 4)).not.toThrow();
    const r = rejected(() => checkJobSubmission(spec(), { uid: 1000 }, c, 5));
    expect(r.message).toMatch(/uid 1000 has 5 active jobs; one more would exceed the limit of 5 .*CraneCtld\.MaxSubmitJobsPerUser/);
    expect(() => checkJobSubmission(spec(), { uid: 0 }, c, 1_000_000)).not.toThrow();
    expect(() => checkJobSubmission(spec(), { uid: 1000 }, config({ MaxSubmitJobsPerUser: 0 }), 1_000_000)).not.toThrow();
  });

  it("refuse a SubmitBatchJobs over MaxJobsPerSubmit, over the user's room, or storing too many bytes", () => {
    const c = config({ MaxJobsPerSubmit: 100, MaxSubmitJobsPerUser: 150 });
    expect(() => checkBatchSubmission(spec(), 100, { uid: 1000 }, c.limits, 0)).not.toThrow();
    const r = rejected(() => checkBatchSubmission(spec(), 101, { uid: 1000 }, c.limits, 0));
    expect(r.message).toMatch(/101 jobs in one submission exceed the limit of 100 \(CraneCtld\.MaxJobsPerSubmit\)/);
    // Root is not exempt from the size of one request.
    expect(() => checkBatchSubmission(spec(), 101, { uid: 0 }, c.limits, 0)).toThrow(/MaxJobsPerSubmit/);
    expect(() => checkBatchSubmission(spec(), 60, { uid: 1000 }, c.limits, 100)).toThrow(/100 active jobs; 60 more would exceed the limit of 150/);
    expect(() => checkBatchSubmission(spec(), 60, { uid: 0 }, c.limits, 100)).not.toThrow();
    // 10,000 copies of a 1 MiB script would be 10 GB in the database.
    const big = spec({ shScript: "x".repeat(1000 * 1024) });
    expect(() => checkBatchSubmission(big, 10_000, { uid: 1000 }, DEFAULT_LIMITS, 0)).toThrow(/64 x CraneCtld\.MaxSpecBytes/);
    expect(() => checkBatchSubmission(big, 50, { uid: 1000 }, DEFAULT_LIMITS, 0)).not.toThrow();
  });

  it("measures one spec once, however many copies a batch submits", () => {
    const s = spec({ shScript: "y".repeat(100_000) });
    const n = specBytes(s);
    expect(n).toBeGreaterThan(100_000);
    s.shScript = ""; // (a remembered size: the same object is not measured again)
    expect(specBytes(s)).toBe(n);
  });

  it("lets the public server receive a spec of MaxSpecBytes and no more than 8 MiB by default", () => {
    expect(publicMaxReceiveBytes(DEFAULT_LIMITS)).toBe(8 * 1024 * 1024);
    expect(publicMaxReceiveBytes({ ...DEFAULT_LIMITS, maxSpecBytes: 16 * 1024 * 1024 })).toBe(17 * 1024 * 1024);
  });
});

describe("query limits", () => {
  it("refuse a list longer than MaxQueryItems as INVALID_ARGUMENT, naming the field and the key", () => {
    const limits = { ...DEFAULT_LIMITS, maxQueryItems: 3 };
    expect(() => checkQueryItems(QueryJobsRequest.fromPartial({ users: ["a", "b", "c"] }), limits, "QueryJobsInfo")).not.toThrow();
    for (const over of [
      { users: ["a", "b", "c", "d"] },
      { names: ["1", "2", "3", "4"] },
      { nodes: ["1", "2", "3", "4"] },
      { partitions: ["1", "2", "3", "4"] },
      { states: [0, 1, 2, 3] },
      { types: [0, 1, 2, 0] },
      { jobIds: [1, 2, 3, 4].map((jobId) => ({ jobId, stepIds: [] })) },
      { jobIds: [{ jobId: 1, stepIds: [1, 2, 3] }] },
    ]) {
      let err: unknown;
      try {
        checkQueryItems(QueryJobsRequest.fromPartial(over), limits, "QueryJobsInfo");
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(over)).toBeInstanceOf(QueryRejection);
      const q = err as QueryRejection;
      expect(q.code).toBe(3); // grpc.status.INVALID_ARGUMENT
      expect(q.message).toMatch(new RegExp(`QueryJobsInfo: ${Object.keys(over)[0]} has 4 entries; the limit is 3 \\(CraneCtld\\.MaxQueryItems\\)`));
    }
  });

  it("match a job by set lookups made once per query", () => {
    const q = QueryJobsRequest.fromPartial({ users: ["a", "b"], jobIds: [{ jobId: 5, stepIds: [] }] });
    const s = querySets(q);
    expect(s.users.has("b")).toBe(true);
    expect(s.jobIds.has(5)).toBe(true);
    expect(querySets(q)).toBe(s);
  });
});

describe("active jobs per uid", () => {
  const rec = (jobId: number, uid: number, status = JobStatus.Pending) => ({ jobId, status, spec: JobSpec.fromPartial({ uid }) }) as unknown as JobRecord;

  it("counts on set and delete, also when a job is set twice", () => {
    const m = new ActiveJobs();
    m.set(1, rec(1, 1000));
    m.set(2, rec(2, 1000));
    m.set(3, rec(3, 2000));
    m.set(2, rec(2, 1000));
    expect(m.countOf(1000)).toBe(2);
    expect(m.countOf(2000)).toBe(1);
    m.delete(1);
    m.delete(1);
    expect(m.countOf(1000)).toBe(1);
    m.clear();
    expect(m.countOf(1000)).toBe(0);
    expect(m.size).toBe(0);
  });
});

describe("MaxJobsPerUser", () => {
  const node = (name: string) => ({
    name,
    partitions: ["CPU"],
    total: { cpu: 64, memoryBytes: 64 * 2 ** 30, gres: {} },
    free: { cpu: 64, memoryBytes: 64 * 2 ** 30, gres: {} },
    up: true,
  });
  const pending = (jobId: number, over = {}) => ({
    jobId,
    partition: "CPU",
    priority: 100 - jobId,
    submitTime: jobId,
    nodeNum: 1,
    perNode: { cpu: 1, memoryBytes: 1 << 20, gres: {} },
    timeLimitMs: 60_000,
    ...over,
  });
  const rec = (jobId: number, uid: number, status = JobStatus.Pending) => ({ jobId, status, spec: JobSpec.fromPartial({ uid }) }) as unknown as JobRecord;

  function setup() {
    // uid 1000: one running (job 1), four pending (2-5); uid 2000: two pending (6, 7); root: two pending (8, 9).
    const jobs = new Map<number, JobRecord>([
      [1, rec(1, 1000, JobStatus.Running)],
      ...[2, 3, 4, 5].map((id) => [id, rec(id, 1000)] as const),
      [6, rec(6, 2000)],
      [7, rec(7, 2000)],
      [8, rec(8, 0)],
      [9, rec(9, 0)],
    ]);
    const snapshot: Snapshot = { now: 0, nodes: [node("n1")], running: [], pending: [2, 3, 4, 5, 6, 7, 8, 9].map((id) => pending(id)) };
    return { jobs, snapshot };
  }

  it("starts no more of a user's jobs than the limit; the rest wait with QOSMaxJobsPerUserLimit; root is exempt", () => {
    const { jobs, snapshot } = setup();
    const r = scheduleUnderUserLimit(snapshot, jobs, 2, schedule);
    expect(r.placements.map((p) => p.jobId).sort((a, b) => a - b)).toEqual([2, 6, 7, 8, 9]);
    for (const id of [3, 4, 5]) expect(r.pending.get(id)).toBe(USER_RUN_LIMIT_REASON);
    expect(r.again).toBe(true); // placements were dropped: look again
  });

  it("offers nothing of a user already at the limit, and needs no second cycle then", () => {
    const { jobs, snapshot } = setup();
    jobs.set(2, rec(2, 1000, JobStatus.Configuring));
    snapshot.pending = snapshot.pending.filter((p) => p.jobId !== 2);
    let offered: number[] = [];
    const r = scheduleUnderUserLimit(snapshot, jobs, 2, (s) => ((offered = s.pending.map((p) => p.jobId)), schedule(s)));
    expect(offered).toEqual([6, 7, 8, 9]);
    for (const id of [3, 4, 5]) expect(r.pending.get(id)).toBe(USER_RUN_LIMIT_REASON);
    expect(r.again).toBe(false);
  });

  it("leaves held jobs Held, and changes nothing at 0 (unlimited)", () => {
    const { jobs, snapshot } = setup();
    snapshot.pending = snapshot.pending.map((p) => (p.jobId === 5 ? { ...p, held: true } : p));
    jobs.set(2, rec(2, 1000, JobStatus.Starting));
    const r = scheduleUnderUserLimit(snapshot, jobs, 2, schedule);
    expect(r.pending.get(5)).toBe("Held");
    const all = scheduleUnderUserLimit(setup().snapshot, setup().jobs, 0, schedule);
    expect(all.placements).toHaveLength(8);
    expect(all.again).toBe(false);
  });
});
