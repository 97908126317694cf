// ctld's Prometheus endpoint (src/modes/ctld/metrics.ts): the exposition text and the HTTP server.
import { afterEach, describe, expect, it } from "vitest";
import { JobStatus } from "../../../src/core/job-state";
import { createLogger } from "../../../src/core/log";
import { CtldMetrics, serveMetrics, type MetricsServer } from "../../../src/modes/ctld/metrics";

const source = {
  activeJobStates: () => [JobStatus.Pending, JobStatus.Pending, JobStatus.Running],
  nodes: () => [
    { state: "mix", cpus: 8, allocatedCpus: 2 },
    { state: "idle", cpus: 8, allocatedCpus: 0 },
    { state: "down", cpus: 4, allocatedCpus: 0 },
  ],
};

/** The samples of an exposition text, `name{labels}` -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe("ctld metrics", () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("counts jobs and nodes by state, submissions and cycle times", () => {
    const metrics = new CtldMetrics(source);
    metrics.onSubmit(true);
    metrics.onSubmit(true);
    metrics.onSubmit(false);
    metrics.onScheduleCycle(0.002);
    metrics.onScheduleCycle(0.3);
    const text = metrics.render();
    const s = samples(text);
    expect(s.get('crane_jobs{state="Pending"}')).toBe(2);
    expect(s.get('crane_jobs{state="Running"}')).toBe(1);
    expect(s.get('crane_jobs{state="Configuring"}')).toBe(0);
    expect(s.get('crane_job_submissions_total{result="accepted"}')).toBe(2);
    expect(s.get('crane_job_submissions_total{result="rejected"}')).toBe(1);
    expect(s.get('crane_schedule_cycle_seconds_bucket{le="0.001"}')).toBe(0);
    expect(s.get('crane_schedule_cycle_seconds_bucket{le="0.0025"}')).toBe(1);
    expect(s.get('crane_schedule_cycle_seconds_bucket{le="0.5"}')).toBe(2);
    expect(s.get('crane_schedule_cycle_seconds_bucket{le="+Inf"}')).toBe(2);
    expect(s.get("crane_schedule_cycle_seconds_count")).toBe(2);
    expect(s.get("crane_schedule_cycle_seconds_sum")).toBeCloseTo(0.302);
    expect(s.get('crane_nodes{state="mix"}')).toBe(1);
    expect(s.get('crane_nodes{state="alloc"}')).toBe(0);
    expect(s.get('crane_nodes{state="down"}')).toBe(1);
    expect(s.get('crane_cpus{kind="total"}')).toBe(16);
    expect(s.get('crane_cpus{kind="allocated"}')).toBe(2);
    expect(s.get("process_resident_memory_bytes")).toBeGreaterThan(1024 * 1024);
    expect(text).toContain("# TYPE crane_schedule_cycle_seconds histogram\n");
    expect(text.endsWith("\n")).toBe(true);
  });

  it("serves /metrics over HTTP, and nothing else", async () => {
    server = await serveMetrics(new CtldMetrics(source), "127.0.0.1", 0, createLogger("test", "error"));
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(samples(await res.text()).get('crane_jobs{state="Pending"}')).toBe(2);
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
