import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { ErrCode, JobStatus, JobType, QueryJobHistoryRequest } from "../../../src/core/generated/crane/crane";
import { DEFAULT_LIMITS } from "../../../src/core/config-limits";
import { queryJobHistory } from "../../../src/modes/ctld/history";
import { jobUsage, type HistoryFilter } from "../../../src/modes/ctld/history-rows";
import type { JobRecord, StepRecord } from "../../../src/modes/ctld/records";
import { JobStore } from "../../../src/modes/ctld/store";

const dirs: string[] = [];
const stores: JobStore[] = [];
afterEach(() => {
  stores.splice(0).forEach((s) => s.close());
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "crane-history-"));
  dirs.push(d);
  return d;
}

function open(dir = tempDir()): JobStore {
  const s = new JobStore(dir);
  stores.push(s);
  return s;
}

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 10, 12);

function step(perNode: Record<string, { maxRssBytes?: number; cpuTimeUsec?: number }>): StepRecord {
  const nodes = Object.fromEntries(
    Object.entries(perNode).map(([n, u]) => [n, { status: JobStatus.Completed, exitCode: 0, reason: "", containerId: "", ...u }]),
  );
  return { stepId: 1, perNode: nodes } as unknown as StepRecord;
}

function job(jobId: number, o: { uid?: number; user?: string; status?: JobStatus; end?: number; account?: string; steps?: StepRecord[] } = {}): JobRecord {
  const uid = o.uid ?? 1000;
  const end = o.end ?? NOW - (100 - jobId) * HOUR;
  const status = o.status ?? JobStatus.Completed;
  const active = status === JobStatus.Running || status === JobStatus.Pending;
  return {
    jobId,
    spec: { name: `j${jobId}`, uid, account: o.account ?? "a", partition: "CPU", type: JobType.Batch },
    username: o.user ?? `u${uid}`,
    status,
    exitCode: 0,
    reason: "",
    submitTime: end - 2 * HOUR,
    startTime: end - HOUR,
    endTime: active ? 0 : end,
    nodes: ["cn01", "cn02"],
    allocPerNode: { cpu: 2, memoryBytes: 0, gres: {} },
    steps: o.steps ?? [],
  } as unknown as JobRecord;
}

const none: HistoryFilter = { jobIds: [], users: [], accounts: [], states: [], partitions: [], names: [] };
const ids = (s: JobStore, f: Partial<HistoryFilter>, limit = 100) => s.queryHistory({ ...none, ...f }, limit).map((e) => e.jobId);

async function filled(): Promise<JobStore> {
  const s = open();
  await Promise.all([
    s.save(job(1, { uid: 1000 })),
    s.save(job(2, { uid: 1001, status: JobStatus.Failed, account: "b" })),
    s.save(job(3, { uid: 1000, status: JobStatus.Cancelled })),
    s.save(job(4, { uid: 1001 })),
    s.save(job(5, { uid: 1000, status: JobStatus.Running })),
  ]);
  return s;
}

describe("the store's accounting history", () => {
  it("answers filters from the finished rows, most recently ended first, within the limit", async () => {
    const s = await filled();
    expect(ids(s, {})).toEqual([4, 3, 2, 1]);
    expect(ids(s, {}, 2)).toEqual([4, 3]);
    expect(ids(s, { ownerUid: 1000 })).toEqual([3, 1]);
    expect(ids(s, { users: ["u1001"] })).toEqual([4, 2]);
    expect(ids(s, { states: [JobStatus.Failed, JobStatus.Cancelled] })).toEqual([3, 2]);
    expect(ids(s, { accounts: ["b"] })).toEqual([2]);
    expect(ids(s, { jobIds: [1, 4, 5] })).toEqual([4, 1]);
    expect(ids(s, { names: ["j3"] })).toEqual([3]);
    const end2 = NOW - 98 * HOUR;
    expect(ids(s, { endTime: { from: end2, to: 0 } })).toEqual([4, 3, 2]);
    expect(ids(s, { endTime: { from: 0, to: end2 } })).toEqual([2, 1]);
    expect(ids(s, { submitTime: { from: end2 - 2 * HOUR, to: end2 - 2 * HOUR } })).toEqual([2]);
    expect(ids(s, { startTime: { from: end2, to: 0 } })).toEqual([4, 3]);
    expect(ids(s, { ownerUid: 1000, states: [JobStatus.Failed] })).toEqual([]);
  });

  it("keeps each row's usage: the largest peak of any step on any node, the CPU time of all", async () => {
    const s = open();
    const steps = [step({ cn01: { maxRssBytes: 10, cpuTimeUsec: 5 }, cn02: { maxRssBytes: 30, cpuTimeUsec: 7 } }), step({ cn01: { maxRssBytes: 20 } })];
    expect(jobUsage({ steps })).toEqual({ maxRssBytes: 30, cpuTimeUsec: 12 });
    await s.save(job(1, { steps }));
    expect(s.queryHistory(none, 10)[0]).toMatchObject({ jobId: 1, maxRssBytes: 30, cpuTimeUsec: 12, allocCpus: 4, nodes: ["cn01", "cn02"], account: "a" });
  });

  it("includes a job that ended but whose save has not committed yet", async () => {
    const s = await filled();
    void s.save(job(6, { uid: 1000, end: NOW }));
    void s.save(job(3, { uid: 1000, status: JobStatus.Failed }));
    expect(ids(s, { ownerUid: 1000 })).toEqual([6, 3, 1]);
    expect(ids(s, { states: [JobStatus.Cancelled] })).toEqual([]);
  });

  it("adds and fills the accounting columns of a database made before them", () => {
    const dir = tempDir();
    const db = new DatabaseSync(path.join(dir, "crane.db"));
    db.exec("CREATE TABLE jobs (job_id INTEGER PRIMARY KEY, finished INTEGER NOT NULL, data TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO jobs(job_id, finished, data) VALUES (?, ?, ?)");
    insert.run(1, 1, JSON.stringify(job(1, { uid: 1000, steps: [step({ cn01: { maxRssBytes: 99 } })] })));
    insert.run(2, 1, JSON.stringify(job(2, { uid: 1001, status: JobStatus.Failed })));
    insert.run(3, 0, JSON.stringify(job(3, { status: JobStatus.Running })));
    insert.run(4, 1, "{not json");
    db.close();
    const s = open(dir);
    expect(ids(s, {})).toEqual([2, 1]);
    expect(ids(s, { users: ["u1000"] })).toEqual([1]);
    expect(s.queryHistory({ ...none, states: [JobStatus.Failed] }, 10)[0]).toMatchObject({ jobId: 2, uid: 1001, partition: "CPU" });
    expect(s.queryHistory({ ...none, jobIds: [1] }, 10)[0]?.maxRssBytes).toBe(99);
    expect(s.loadActive().map((j) => j.jobId)).toEqual([3]);
  });

  it("deletes finished jobs past the retention, never active ones", async () => {
    const s = await filled();
    expect(s.purgeFinishedBefore(NOW - 97.5 * HOUR)).toBe(2);
    expect(ids(s, {})).toEqual([4, 3]);
    expect(s.loadActive().map((j) => j.jobId)).toEqual([5]);

    const old = open();
    await Promise.all([old.save(job(1, { end: Date.now() - 3 * 24 * HOUR })), old.save(job(2, { end: Date.now() - HOUR }))]);
    old.startRetention(2);
    expect(ids(old, {})).toEqual([2]);
  });
});

describe("QueryJobHistory", () => {
  const config = (privateData: boolean) => ({ adminUids: [7], privateData, limits: DEFAULT_LIMITS });
  const ask = (s: JobStore, uid: number, req: Partial<QueryJobHistoryRequest>, privateData = true, active: JobRecord[] = []) =>
    queryJobHistory({ config: config(privateData), store: s, jobs: active }, uid, QueryJobHistoryRequest.fromPartial(req));

  it("keeps users to their own jobs under PrivateData; admins and root see all, and everyone without it", async () => {
    const s = await filled();
    const jobIds = (r: ReturnType<typeof ask>) => r.jobs.map((j) => j.jobId);
    expect(jobIds(ask(s, 1001, {}))).toEqual([4, 2]);
    expect(jobIds(ask(s, 1001, { users: ["u1000"] }))).toEqual([]);
    expect(jobIds(ask(s, 7, { users: ["u1000"] }))).toEqual([3, 1]);
    expect(jobIds(ask(s, 0, {}))).toEqual([4, 3, 2, 1]);
    expect(jobIds(ask(s, 1001, { users: ["u1000"] }, false))).toEqual([3, 1]);
  });

  it("puts active jobs first, and leaves them out where only ended ones can match", async () => {
    const s = await filled();
    const running = job(9, { status: JobStatus.Running, uid: 1000 });
    expect(ask(s, 0, {}, true, [running]).jobs.map((j) => j.jobId)).toEqual([9, 4, 3, 2, 1]);
    expect(ask(s, 1001, {}, true, [running]).jobs.map((j) => j.jobId)).toEqual([4, 2]);
    expect(ask(s, 0, { states: [JobStatus.Completed] }, true, [running]).jobs.map((j) => j.jobId)).toEqual([4, 1]);
    expect(ask(s, 0, { states: [JobStatus.Running] }, true, [running]).jobs.map((j) => j.jobId)).toEqual([9]);
    expect(ask(s, 0, { limit: 2 }, true, [running]).jobs.map((j) => j.jobId)).toEqual([9, 4]);
  });

  it("refuses a malformed request with ERR_INVALID_PARAM naming the field", async () => {
    const s = await filled();
    const refused = (req: Partial<QueryJobHistoryRequest>) => {
      const r = ask(s, 0, req);
      expect(r).toMatchObject({ ok: false, code: ErrCode.ERR_INVALID_PARAM, jobs: [] });
      return r.reason;
    };
    expect(refused({ states: [99 as JobStatus] })).toContain("states: 99");
    expect(refused({ jobIds: [0] })).toContain("job_ids: 0");
    expect(refused({ users: [""] })).toContain("users");
    expect(refused({ accounts: ["x".repeat(300)] })).toContain("accounts");
    expect(refused({ limit: 100_001 })).toContain("limit");
    expect(refused({ endTime: { from: 5, to: 4 } })).toContain("end_time: from");
    expect(refused({ submitTime: { from: -1, to: 0 } })).toContain("submit_time.from");
    expect(() => ask(s, 0, { users: Array.from({ length: DEFAULT_LIMITS.maxQueryItems + 1 }, (_, i) => `u${i}`) })).toThrow(/MaxQueryItems/);
  });
});
