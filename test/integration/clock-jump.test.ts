// The wall clock jumps (an NTP step, an admin's `date -s`) under running daemons: durations are measured on the
// monotonic clock, so no node is declared down and no job's time limit is reached early. The daemons run under
// libfaketime (Debian faketime), whose offset file moves their wall clock while the monotonic clock runs on.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, startCluster, submit, type TestCluster } from "../harness/cluster";
import { FakeWallClock } from "../harness/faketime";

describe("a jump of the wall clock", () => {
  let c: TestCluster;
  let clock: FakeWallClock;

  beforeAll(async () => {
    clock = new FakeWallClock();
    c = await startCluster({ extraArgs: ["--craned-timeout", "5", "--ping-interval", "1"], daemonEnv: clock.env });
  });

  afterAll(async () => {
    await c?.stop();
    clock?.remove();
  });

  it("forward by two hours: the node stays up and a job with a 1-minute limit runs to its end", async () => {
    const id = await submit(c, ["-t", "0:01:00", "-o", "jump.out", "--wrap", "sleep 3; echo done"]);
    await c.waitJob(id, (j) => j.status === "Running");
    clock.set("+2h");
    const job = await c.waitJob(id, finished, 30_000);
    expect(job.status).toBe("Completed");
    expect(fs.readFileSync(path.join(c.dir, "jump.out"), "utf8")).toBe("done\n");
    const info = JSON.parse((await c.run("cinfo", ["--json"])).stdout) as { nodes: { state: string }[] };
    expect(info.nodes.map((n) => n.state)).not.toContain("down");
  });

  it("back by two hours: heartbeats still count and new jobs run", async () => {
    clock.set("-2h");
    await new Promise((r) => setTimeout(r, 7_000)); // longer than the node timeout
    const info = JSON.parse((await c.run("cinfo", ["--json"])).stdout) as { nodes: { state: string }[] };
    expect(info.nodes.map((n) => n.state)).not.toContain("down");
    const id = await submit(c, ["--wrap", "true"]);
    expect((await c.waitJob(id, finished, 30_000)).status).toBe("Completed");
  });
});
