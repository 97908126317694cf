// Accounting history queries on a big store: fills a fresh JobStore with finished jobs (through its own save path,
// in group commits of 10,000) spread over 30 days, 100 users, 10 accounts and every ending state, then times the
// queries cacct sends. Prints one JSON object; times are milliseconds (insert: seconds).
//   npm run bench:cacct -- [--jobs 1000000] [--repeat 5]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JobSpec, JobStatus, JobType } from "../src/core/generated/crane/crane";
import type { JobRecord } from "../src/modes/ctld/records";
import { JobStore } from "../src/modes/ctld/store";
import type { HistoryFilter } from "../src/modes/ctld/history-rows";
import { prng } from "../test/harness/prng";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const USERS = 100;
const ENDINGS = [JobStatus.Completed, JobStatus.Completed, JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled, JobStatus.ExceedTimeLimit];

function finishedJob(jobId: number, total: number, now: number, rand: () => number): JobRecord {
  const uid = 1000 + Math.floor(rand() * USERS);
  // Job ids grow with time: job 1 ended 30 days ago, the last one just now.
  const end = now - Math.floor(((total - jobId) / total) * 30 * DAY_MS);
  const start = end - Math.floor(rand() * 3_600_000);
  const node = `cn${String(1 + Math.floor(rand() * 64)).padStart(2, "0")}`;
  const spec = JobSpec.fromPartial({
    name: `job${jobId % 50}`,
    uid,
    gid: uid,
    account: `acct${uid % 10}`,
    partition: "CPU",
    type: JobType.Batch,
    cpusPerTask: 2,
  });
  return {
    jobId,
    spec,
    username: `user${uid - 1000}`,
    status: ENDINGS[Math.floor(rand() * ENDINGS.length)]!,
    pendingReason: "",
    reason: "",
    exitCode: 0,
    priority: 0,
    submitTime: start - 1000,
    startTime: start,
    endTime: end,
    nodes: [node],
    allocPerNode: { cpu: 2, memoryBytes: 1 << 30, gres: {} },
    reqPerNode: { cpu: 2, memoryBytes: 1 << 30, gres: {} },
    steps: [],
    nextStepId: 2,
    requeueCount: 0,
    pendingFree: [],
  };
}

function time(repeat: number, fn: () => number): { ms: number; rows: number } {
  let best = Infinity;
  let rows = 0;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    rows = fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: +best.toFixed(2), rows };
}

async function main() {
  const total = arg("jobs", 1_000_000);
  const repeat = arg("repeat", 5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-bench-cacct-"));
  const store = new JobStore(dir);
  const rand = prng(12);
  const now = Date.now();
  const t0 = performance.now();
  for (let id = 1; id <= total;) {
    const batch: Promise<void>[] = [];
    for (const end = Math.min(total, id + 9_999); id <= end; id++) batch.push(store.save(finishedJob(store.allocateJobId(), total, now, rand)));
    await Promise.all(batch);
  }
  const insertSeconds = (performance.now() - t0) / 1000;

  const none: HistoryFilter = { jobIds: [], users: [], accounts: [], states: [], partitions: [], names: [] };
  const q =
    (f: Partial<HistoryFilter>, limit = 1000) =>
    () =>
      store.queryHistory({ ...none, ...f }, limit).length;
  const lastDay = { from: now - DAY_MS, to: 0 };
  const result = {
    jobs: total,
    insertSeconds: +insertSeconds.toFixed(1),
    insertsPerSecond: Math.round(total / insertSeconds),
    dbBytes:
      fs.statSync(path.join(dir, "crane.db")).size + (fs.existsSync(path.join(dir, "crane.db-wal")) ? fs.statSync(path.join(dir, "crane.db-wal")).size : 0),
    queryMs: {
      oneUserLastDay: time(repeat, q({ ownerUid: 1042, endTime: lastDay })),
      oneUserByName: time(repeat, q({ users: ["user42"] })),
      oneJobId: time(repeat, q({ jobIds: [Math.ceil(total / 2)] })),
      hundredJobIds: time(repeat, q({ jobIds: Array.from({ length: 100 }, (_, i) => 1 + i * Math.floor(total / 100)) })),
      stateFailed: time(repeat, q({ states: [JobStatus.Failed] })),
      stateFailedOneAccount: time(repeat, q({ states: [JobStatus.Failed], accounts: ["acct3"] })),
      allLimit1000: time(repeat, q({})),
      submittedOneDayTenDaysAgo: time(repeat, q({ submitTime: { from: now - 11 * DAY_MS, to: now - 10 * DAY_MS } })),
      allLimit100000: time(Math.min(repeat, 2), q({}, 100_000)),
    },
  };
  const t1 = performance.now();
  const purged = store.purgeFinishedBefore(now - 29 * DAY_MS, total);
  Object.assign(result, { retentionPurge: { rows: purged, ms: +(performance.now() - t1).toFixed(0) } });
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(result));
}

void main();
