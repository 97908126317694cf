import { describe, expect, it } from "vitest";
import { expiredLogs, jobIdsOfCgroups } from "../../../src/modes/craned/housekeeping";

describe("node housekeeping's choices", () => {
  it("reads job ids from job cgroup names only", () => {
    expect(jobIdsOfCgroups(["job_12", "job_x", "cgroup.procs", "step_1", "job_7", "tasks"])).toEqual([12, 7]);
  });

  it("expires the logs of jobs no longer held, once older than the retention", () => {
    const day = 86_400_000;
    const now = 100 * day;
    const entries = [
      { name: "1", mtimeMs: now - 10 * day }, // old, not held: expired
      { name: "2", mtimeMs: now - 10 * day }, // old but still held
      { name: "3", mtimeMs: now - 1 * day }, // recent
      { name: "supervisor-standby.log", mtimeMs: 0 }, // not a job's
    ];
    expect(expiredLogs(entries, (id) => id === 2, now, 7)).toEqual([1]);
    expect(expiredLogs(entries, () => false, now, 0.5)).toEqual([1, 2, 3]);
  });
});
