// WatchCluster against a real ctld in this process (no nodes register, so jobs stay pending): a snapshot first,
// then only what changed, coalesced; filters by job id and user.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelJobRequest, JobStatus, type ClusterEvent, type JobSpec } from "../../../src/core/generated/crane/crane";
import { type CraneCtldClient } from "../../../src/core/generated/crane/services";
import { unary } from "../../../src/core/rpc";
import { ClusterView, watchRequest, type WatchRequest } from "../../../src/core/cli/watch-client";
import { startInProcessCtld, type InProcessCtld } from "../../harness/ctld-in-process";

let ctld: InProcessCtld;
let client: CraneCtldClient;

beforeAll(async () => {
  ctld = await startInProcessCtld();
  client = ctld.client;
});

afterAll(async () => {
  await ctld?.stop();
});

/** An open watch that records every event and keeps a view. */
function watch(req: WatchRequest) {
  const events: ClusterEvent[] = [];
  const view = new ClusterView();
  const call = client.watchCluster(watchRequest(req));
  call.on("data", (ev: ClusterEvent) => {
    events.push(ev);
    view.apply(ev);
  });
  call.on("error", () => {});
  return {
    events,
    view,
    close: () => call.cancel(),
    async until(what: string, pred: () => boolean) {
      for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      if (!pred())
        throw new Error(
          `watch never saw ${what}; events: ${JSON.stringify(events.map((e) => ({ ...e, jobs: e.jobs.map((j) => [j.jobId, JobStatus[j.status]]) })))}`,
        );
    },
  };
}

const submit = (n: number, over: Partial<JobSpec> = {}) => ctld.submit(n, over);

describe("WatchCluster", () => {
  it("starts with a snapshot of the active jobs, nodes and partitions, marked reset ... synced", async () => {
    const before = await submit(3);
    const w = watch({ jobs: true, nodes: true });
    await w.until("the end of the snapshot", () => w.view.synced);
    expect(w.events[0]!.reset).toBe(true);
    expect(w.events.at(-1)!.synced).toBe(true);
    for (const id of before) expect(w.view.jobs.get(id)?.status).toBe(JobStatus.Pending);
    expect([...w.view.nodes.keys()].sort()).toEqual(["w1", "w2"]);
    expect(w.view.nodes.get("w1")!.state).toBe("down"); // no craned registered
    expect(w.view.partitions.map((p) => p.name)).toEqual(["CPU"]);
    w.close();
  });

  it("sends only changes afterwards, coalescing a burst into a few events", async () => {
    const w = watch({ jobs: true, nodes: true, intervalMs: 100 });
    await w.until("the snapshot", () => w.view.synced);
    const afterSnapshot = w.events.length;
    const ids = await submit(200);
    await w.until("the 200 new jobs", () => ids.every((id) => w.view.jobs.has(id)));
    const changes = w.events.slice(afterSnapshot);
    expect(changes.every((e) => !e.reset)).toBe(true);
    // 200 submissions in one request: a handful of events at most, not one per job.
    expect(changes.length).toBeLessThan(10);
    expect(changes.flatMap((e) => e.jobs).length).toBeLessThanOrEqual(200 + 10);
    w.close();
  });

  it("sends a cancelled job once more with its final state", async () => {
    const [id] = await submit(1);
    const w = watch({ jobs: true });
    await w.until("the job in the snapshot", () => w.view.jobs.has(id!));
    const r = await unary(client, client.cancelJob, CancelJobRequest.fromPartial({ jobIds: [{ jobId: id!, stepIds: [] }] }));
    expect(r.notCancelled).toEqual([]);
    await w.until("the job cancelled", () => w.view.jobs.get(id!)?.status === JobStatus.Cancelled);
    w.close();
  });

  it("narrows to job ids (finished ones included in the snapshot) and to users", async () => {
    const [a, b] = await submit(2);
    await unary(client, client.cancelJob, CancelJobRequest.fromPartial({ jobIds: [{ jobId: a!, stepIds: [] }] }));
    const one = watch({ jobs: true, jobIds: [a!, b!] });
    await one.until("the snapshot", () => one.view.synced);
    expect([...one.view.jobs.keys()].sort()).toEqual([a, b].sort());
    expect(one.view.jobs.get(a!)!.status).toBe(JobStatus.Cancelled);
    await submit(5); // not watched
    const [c] = await submit(1);
    await unary(client, client.cancelJob, CancelJobRequest.fromPartial({ jobIds: [{ jobId: b!, stepIds: [] }] }));
    await one.until("b cancelled", () => one.view.jobs.get(b!)?.status === JobStatus.Cancelled);
    expect(one.view.jobs.has(c!)).toBe(false);
    one.close();

    const nobody = watch({ jobs: true, users: ["no-such-user"] });
    await nobody.until("the snapshot", () => nobody.view.synced);
    await submit(2);
    expect(nobody.view.jobs.size).toBe(0);
    nobody.close();
  });

  it("refuses a call whose caller cannot be verified (AuthType munge, no credential), with a status", async () => {
    const strict = await startInProcessCtld({ AuthType: "munge", MungeSocket: "/nonexistent/munge.socket" });
    try {
      const call = strict.client.watchCluster(watchRequest({ jobs: true }));
      const err = await new Promise<{ code?: number; details?: string }>((resolve) => {
        call.on("error", resolve);
        call.on("data", () => {});
      });
      expect(err.code).toBe(16); // UNAUTHENTICATED
      expect(err.details).toContain("carries no MUNGE credential");
    } finally {
      await strict.stop();
    }
  });
});
