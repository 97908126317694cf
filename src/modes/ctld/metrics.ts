// ctld's Prometheus endpoint: GET /metrics in the text exposition format (0.0.4), plain HTTP on its own port
// (CraneCtld.MetricsPort, bound to CraneCtld.MetricsListenAddr), never on a gRPC port. Gauges are read from the job
// manager when scraped; the submission counter and the scheduling-cycle histogram are fed through `onSubmit` and
// `onScheduleCycle`, which the job manager calls.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { JobStatus } from "../../core/job-state";
import type { Logger } from "../../core/log";
import { nodeInfos } from "./cluster-info";
import type { JobManager } from "./job-manager";

/** What a scrape reads: the active jobs' states and each node's state word (idle | mix | alloc | down) and CPUs. */
export interface MetricsSource {
  activeJobStates(): Iterable<JobStatus>;
  nodes(): { state: string; cpus: number; allocatedCpus: number }[];
}

export function jobManagerSource(jm: JobManager): MetricsSource {
  return {
    activeJobStates: () => [...jm.jobs.values()].map((j) => j.status),
    nodes: () => nodeInfos(jm).map((n) => ({ state: n.state, cpus: n.total?.cpu ?? 0, allocatedCpus: n.allocated?.cpu ?? 0 })),
  };
}

const ACTIVE_STATES = [JobStatus.Pending, JobStatus.Configuring, JobStatus.Starting, JobStatus.Running, JobStatus.Completing, JobStatus.Suspended];
const NODE_STATES = ["idle", "mix", "alloc", "down"];
/** Upper bounds (seconds) of the scheduling-cycle histogram: a cycle over a large queue takes milliseconds. */
export const SCHEDULE_CYCLE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** One metric family: its HELP and TYPE lines and samples (`suffix{labels} value`). */
function family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: [string, Record<string, string>, number][]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [suffix, labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
    lines.push(`${name}${suffix}${l.length ? `{${l.join(",")}}` : ""} ${Number.isFinite(value) ? value : "NaN"}`);
  }
  return lines.join("\n");
}

export class CtldMetrics {
  private readonly submissions = { accepted: 0, rejected: 0 };
  private readonly cycleBuckets = SCHEDULE_CYCLE_BUCKETS.map(() => 0);
  private cycleCount = 0;
  private cycleSum = 0;

  constructor(private readonly source: MetricsSource) {}

  /** One job submission (each copy of an array submission counts), accepted or refused. */
  onSubmit(accepted: boolean): void {
    this.submissions[accepted ? "accepted" : "rejected"]++;
  }

  /** How long one scheduling cycle took, in seconds. */
  onScheduleCycle(seconds: number): void {
    this.cycleCount++;
    this.cycleSum += seconds;
    SCHEDULE_CYCLE_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.cycleBuckets[i]!++;
    });
  }

  /** The exposition text of every metric, as of now. */
  render(): string {
    const jobs = new Map<JobStatus, number>(ACTIVE_STATES.map((s) => [s, 0]));
    for (const s of this.source.activeJobStates()) jobs.set(s, (jobs.get(s) ?? 0) + 1);
    const nodes = this.source.nodes();
    const nodeStates = new Map(NODE_STATES.map((s) => [s, 0]));
    for (const n of nodes) nodeStates.set(n.state, (nodeStates.get(n.state) ?? 0) + 1);
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    return `${[
      family(
        "crane_jobs",
        "gauge",
        "Active (not finished) jobs by state.",
        [...jobs].map(([s, n]) => ["", { state: JobStatus[s] ?? String(s) }, n]),
      ),
      family("crane_job_submissions_total", "counter", "Job submissions since ctld started, by result.", [
        ["", { result: "accepted" }, this.submissions.accepted],
        ["", { result: "rejected" }, this.submissions.rejected],
      ]),
      family("crane_schedule_cycle_seconds", "histogram", "Time one scheduling cycle took.", [
        ...SCHEDULE_CYCLE_BUCKETS.map((le, i): [string, Record<string, string>, number] => ["_bucket", { le: String(le) }, this.cycleBuckets[i]!]),
        ["_bucket", { le: "+Inf" }, this.cycleCount],
        ["_sum", {}, this.cycleSum],
        ["_count", {}, this.cycleCount],
      ]),
      family(
        "crane_nodes",
        "gauge",
        "Configured nodes by state (idle, mix, alloc, down).",
        [...nodeStates].map(([s, n]) => ["", { state: s }, n]),
      ),
      family("crane_cpus", "gauge", "CPUs of the nodes that are up, total and allocated to jobs.", [
        ["", { kind: "total" }, nodes.filter((n) => n.state !== "down").reduce((sum, n) => sum + n.cpus, 0)],
        ["", { kind: "allocated" }, nodes.reduce((sum, n) => sum + n.allocatedCpus, 0)],
      ]),
      family("process_resident_memory_bytes", "gauge", "Resident set size of ctld.", [["", {}, memory.rss]]),
      family("process_heap_used_bytes", "gauge", "V8 heap in use by ctld.", [["", {}, memory.heapUsed]]),
      family("process_cpu_seconds_total", "counter", "CPU time ctld used (user and system).", [["", {}, (cpu.user + cpu.system) / 1e6]]),
      family("process_start_time_seconds", "gauge", "When ctld started, in seconds since the epoch.", [
        ["", {}, Math.round(Date.now() / 1000 - process.uptime())],
      ]),
    ].join("\n")}\n`;
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `metrics` at http://host:port/metrics (port 0: any free port). */
export async function serveMetrics(metrics: CtldMetrics, host: string, port: number, log: Logger): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "").split("?")[0];
    if (url !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: the metrics are at /metrics\n");
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
    } else {
      let body: string;
      try {
        body = metrics.render();
      } catch (e) {
        log.error(`metrics: ${(e as Error).message}`);
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(req.method === "HEAD" ? undefined : body);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  log.info(`metrics on http://${host.includes(":") ? `[${host}]` : host}:${bound}/metrics`);
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
