// The wall clock jumps (an NTP step, an admin's `date -s`) under running daemons: durations are measured on the
// monotonic clock, so no node is declared down and no job's time limit is reached early. The daemons run under
// libfaketime (Debian faketime), whose offset file moves their wall clock while the monotonic clock runs on.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, startCluster, submit, type TestCluster } from "../harness/cluster";

const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

describe("a jump of the wall clock", () => {
  let c: TestCluster;
  let offsetFile: string;

  beforeAll(async () => {
    if (!fs.existsSync(LIBFAKETIME)) throw new Error(`missing ${LIBFAKETIME} (apt-get install faketime; scripts/install-deps.sh does)`);
    offsetFile = path.join(fs.mkdtempSync("/tmp/crane-faketime-"), "offset");
    fs.writeFileSync(offsetFile, "+0\n");
    c = await startCluster({
      extraArgs: ["--craned-timeout", "5", "--ping-interval", "1"],
      daemonEnv: { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_NO_CACHE: "1", FAKETIME_DONT_FAKE_MONOTONIC: "1" },
    });
  });

  afterAll(async () => {
    await c?.stop();
    if (offsetFile) fs.rmSync(path.dirname(offsetFile), { recursive: true, force: true });
  });

  it("forward by two hours: the node stays up and a job with a 1-minute limit runs to its end", async () => {
    const id = await submit(c, ["-t", "0:01:00", "-o", "jump.out", "--wrap", "sleep 3; echo done"]);
    await c.waitJob(id, (j) => j.status === "Running");
    fs.writeFileSync(offsetFile, "+2h\n");
    const job = await c.waitJob(id, finished, 30_000);
    expect(job.status).toBe("Completed");
    expect(fs.readFileSync(path.join(c.dir, "jump.out"), "utf8")).toBe("done\n");
    const info = JSON.parse((await c.run("cinfo", ["--json"])).stdout) as { nodes: { state: string }[] };
    expect(info.nodes.map((n) => n.state)).not.toContain("down");
  });

  it("back by two hours: heartbeats still count and new jobs run", async () => {
    fs.writeFileSync(offsetFile, "-2h\n");
    await new Promise((r) => setTimeout(r, 7_000)); // longer than the node timeout
    const info = JSON.parse((await c.run("cinfo", ["--json"])).stdout) as { nodes: { state: string }[] };
    expect(info.nodes.map((n) => n.state)).not.toContain("down");
    const id = await submit(c, ["--wrap", "true"]);
    expect((await c.waitJob(id, finished, 30_000)).status).toBe("Completed");
  });
});
