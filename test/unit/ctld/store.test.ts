import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { JobStatus } from "../../../src/core/generated/crane/crane";
import type { JobRecord } from "../../../src/modes/ctld/records";
import { JobStore } from "../../../src/modes/ctld/store";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "crane-store-"));
  dirs.push(d);
  return d;
}

const job = (jobId: number): JobRecord => ({ jobId, status: JobStatus.Pending, spec: {}, steps: [], nodes: [] }) as unknown as JobRecord;

describe("ctld's job store", () => {
  it("quarantines rows that do not read back as jobs, loads the rest, and never reuses their ids", async () => {
    const dir = tempDir();
    const store = new JobStore(dir);
    for (let i = 0; i < 3; i++) await store.save(job(store.allocateJobId()));
    store.close();
    const db = new DatabaseSync(path.join(dir, "crane.db"));
    db.prepare("UPDATE jobs SET data = ? WHERE job_id = 2").run("{not json");
    db.prepare("INSERT INTO jobs(job_id, finished, data) VALUES (9, 0, ?)").run(JSON.stringify({ jobId: 9 }));
    db.close();

    const reopened = new JobStore(dir);
    const seen: number[] = [];
    const active = reopened.loadActive((id) => seen.push(id));
    expect(active.map((j) => j.jobId)).toEqual([1, 3]);
    expect(seen).toEqual([2, 9]);
    expect(reopened.allocateJobId()).toBe(10);
    reopened.close();
    const check = new DatabaseSync(path.join(dir, "crane.db"));
    expect((check.prepare("SELECT job_id FROM quarantine ORDER BY job_id").all() as { job_id: number }[]).map((r) => r.job_id)).toEqual([2, 9]);
    check.close();
    // The next start finds nothing left to quarantine.
    const third = new JobStore(dir);
    expect(third.loadActive(() => expect.unreachable()).map((j) => j.jobId)).toEqual([1, 3]);
    third.close();
  });
});
