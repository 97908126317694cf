// ctld's state directory on a disk that fills up (a small tmpfs, filled by a file): a submission is refused with a
// clear reason and nothing of it remains, ctld keeps serving, and once space returns submissions are accepted again.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSpec, JobType } from "../../src/core/generated/crane/crane";
import { unary } from "../../src/core/rpc";
import { startInProcessCtld, type InProcessCtld } from "../harness/ctld-in-process";
import { emptyDisk, fillDisk, mountTmpfs, unmountTmpfs } from "../harness/tmpfs";

describe("a full disk under ctld", () => {
  let mount: string;
  let ctld: InProcessCtld;

  beforeAll(async () => {
    mount = fs.mkdtempSync("/tmp/crane-fulldisk-");
    mountTmpfs(mount, "4m");
    ctld = await startInProcessCtld({ CraneCtldStateDir: path.join(mount, "ctld") });
  });

  afterAll(async () => {
    await ctld?.stop();
    if (mount) unmountTmpfs(mount);
  });

  const queryAll = () =>
    unary(ctld.client, ctld.client.queryJobsInfo, {
      jobIds: [],
      states: [],
      users: [],
      partitions: [],
      names: [],
      types: [],
      includeCompleted: true,
      limit: 0,
      nodes: [],
    });
  const submitOne = () =>
    unary(ctld.client, ctld.client.submitBatchJob, {
      job: JobSpec.fromPartial({
        type: JobType.Batch,
        name: "t",
        cpusPerTask: 1,
        nodeNum: 1,
        hold: true,
        shScript: "#!/bin/sh\ntrue\n".padEnd(2000, "#"),
        cwd: "/tmp",
      }),
    });

  it("refuses submissions with a reason while it is full, and accepts them again once space returns", async () => {
    expect((await submitOne()).ok).toBe(true);
    fillDisk(mount);
    const refused: { ok: boolean; reason: string }[] = [];
    for (let i = 0; i < 200 && refused.length === 0; i++) {
      const r = await submitOne(); // the WAL may still have room for a few
      if (!r.ok) refused.push(r);
    }
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toContain("was not accepted");
    expect(refused[0]!.reason).toContain("disk is full");
    // Still serving, and the refused job is nowhere.
    const q = await queryAll();
    expect(q.ok).toBe(true);
    const known = q.jobs.length;

    emptyDisk(mount);
    const again = await submitOne();
    expect(again.ok, again.reason).toBe(true);
    const after = await queryAll();
    expect(after.jobs.length).toBe(known + 1);
  });
});
