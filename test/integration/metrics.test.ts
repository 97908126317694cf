// ctld's Prometheus endpoint on a real local cluster: turned on in the config, scraped over plain HTTP while a job
// runs. The same restart shows that ctld logs an unknown config key rather than failing on it.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryMissingReason, freePortBase, processGone, restartCtld, startCluster, submit, waitFor, type TestCluster } from "../harness/cluster";

const skip = !!binaryMissingReason();

async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe.skipIf(skip)("ctld /metrics", () => {
  let cluster: TestCluster;
  let metricsPort: number;

  beforeAll(async () => {
    cluster = await startCluster();
    const ctld = cluster.pids().ctld;
    process.kill(ctld, "SIGTERM");
    await waitFor("ctld to stop", () => processGone(ctld));
    metricsPort = await freePortBase(1);
    const config = YAML.parse(fs.readFileSync(cluster.configFile, "utf8")) as Record<string, Record<string, unknown>>;
    config.CraneCtld = { ...config.CraneCtld, MetricsPort: metricsPort, MetricsListenAddr: "127.0.0.1", CranedTimout: 5 };
    fs.writeFileSync(cluster.configFile, YAML.stringify(config));
    restartCtld(cluster);
    await waitFor(
      "the metrics endpoint",
      () =>
        fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
          (r) => r.ok,
          () => false,
        ),
      30_000,
    );
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it("reports jobs by state, nodes, submissions, cycle times and ctld's memory", async () => {
    const jobId = await submit(cluster, ["-c", "1", "--wrap", "sleep 120"]);
    await cluster.waitJob(jobId, (j) => j.status === "Running");
    const s = await scrape(metricsPort);
    expect(s.get('crane_jobs{state="Running"}')).toBe(1);
    expect(s.get('crane_jobs{state="Pending"}')).toBe(0);
    expect(s.get('crane_nodes{state="mix"}')).toBe(1);
    expect(s.get('crane_cpus{kind="total"}')).toBe(4);
    expect(s.get('crane_cpus{kind="allocated"}')).toBe(1);
    expect(s.get("process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    // Fed by the job manager's hooks.
    expect(s.get('crane_job_submissions_total{result="accepted"}')).toBe(1);
    expect(s.get("crane_schedule_cycle_seconds_count")).toBeGreaterThan(0);
    expect((await cluster.run("ccancel", [String(jobId)])).code).toBe(0);
  }, 60_000);

  it("is not served on ctld's gRPC port", async () => {
    const answer = await fetch(`http://127.0.0.1:${cluster.port}/metrics`).then(
      (r) => r.status,
      () => "refused",
    );
    expect(answer).not.toBe(200);
  });

  it("logs an unknown config key, which config check refuses", async () => {
    const log = fs.readFileSync(path.join(cluster.dir, "ctld.log"), "utf8");
    expect(log).toMatch(/WARN config: CraneCtld\.CranedTimout in .*: unknown key: did you mean CranedTimeout\?; the key is ignored/);
    const check = await cluster.run("crane", ["config", "check"]);
    expect(check.code).toBe(2);
    expect(check.stdout).toContain("CraneCtld.CranedTimout: unknown key: did you mean CranedTimeout?");
  });
});
