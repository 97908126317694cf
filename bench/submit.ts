// Submissions per second to a real ctld over gRPC, each persisted in SQLite before it is acknowledged.
// Starts its own ctld (from dist/crane if built, else from source) on a free port in a temp directory; jobs are
// submitted held, so the measure is admission + persistence, not scheduling. Prints one JSON object.
//   npm run bench:submit -- [--jobs 20000] [--clients 8] [--restart]
// --restart: then kill -9 ctld, start it again on the same database, and compare its RSS (VmRSS, settled) with
// all the jobs queued before and after the restart.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JobSpec, JobType } from "../src/core/generated/crane/crane";
import { ctldClient, unary } from "../src/core/rpc";
import { daemonEnv } from "../src/core/daemon-env";
import { freePortBase } from "../test/harness/cluster";

/** ctld's resident memory once it is idle: read after a few seconds without requests, when the heap has settled. */
async function settledRssMb(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 3000));
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main() {
  const total = arg("jobs", 20000);
  const clients = arg("clients", 8);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-bench-"));
  const port = await freePortBase(3);
  fs.writeFileSync(
    path.join(dir, "config.yaml"),
    [
      "ControlMachine: 127.0.0.1",
      "CraneCtldListenAddr: 127.0.0.1",
      `CraneCtldListenPort: ${port}`,
      `CraneCtldForInternalListenPort: ${port + 1}`,
      `CraneBaseDir: ${dir}`,
      "Nodes: [{name: bench1, cpu: 64, memory: 256G}]",
      "Partitions: [{name: CPU, nodes: ALL}]",
      "",
    ].join("\n"),
  );
  const dist = path.join(__dirname, "..", "dist", "crane");
  const cmd = fs.existsSync(dist) ? [dist] : [process.execPath, ...process.execArgv, path.join(__dirname, "..", "src", "main.ts")];
  const probe = ctldClient("127.0.0.1", port);
  const startCtld = async () => {
    const child = spawn(cmd[0]!, [...cmd.slice(1), "ctld", "-C", path.join(dir, "config.yaml")], { stdio: "ignore", env: daemonEnv() });
    for (let i = 0; ; i++) {
      try {
        await unary(probe, probe.queryClusterInfo, { partitions: [], nodes: [], states: [] }, 1000);
        return child;
      } catch {
        if (i > 600) throw new Error("ctld did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  let ctld = await startCtld();
  const job = JobSpec.fromPartial({
    type: JobType.Batch,
    name: "bench",
    uid: 0,
    cpusPerTask: 1,
    nodeNum: 1,
    ntasks: 1,
    hold: true,
    shScript: "#!/bin/sh\ntrue\n",
    cwd: "/tmp",
    memPerNode: 1 << 20,
  });
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = ctldClient("127.0.0.1", port);
      while (next < total) {
        next++;
        const t0 = performance.now();
        const r = await unary(client, client.submitBatchJob, { job });
        latencies.push(performance.now() - t0);
        if (!r.ok) throw new Error(r.reason);
      }
      client.close();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2));
  const info = await unary(probe, probe.queryJobsInfo, {
    jobIds: [],
    states: [],
    users: [],
    partitions: [],
    names: [],
    types: [],
    includeCompleted: false,
    limit: 1,
    nodes: [],
  });
  let restart: { rssMbBefore: number; rssMbAfter: number; ratio: number; recoverSeconds: number } | undefined;
  if (process.argv.includes("--restart")) {
    const before = await settledRssMb(ctld.pid!);
    ctld.kill("SIGKILL");
    await new Promise((r) => ctld.once("exit", r));
    const t0 = performance.now();
    ctld = await startCtld();
    const recoverSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
    const after = await settledRssMb(ctld.pid!);
    restart = { rssMbBefore: before, rssMbAfter: after, ratio: Number((after / before).toFixed(2)), recoverSeconds };
  }
  probe.close();
  ctld.kill("SIGTERM");
  await new Promise((r) => ctld.once("exit", r));
  const dbBytes = fs.statSync(path.join(dir, "ctld", "crane.db")).size;
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      jobs: total,
      clients,
      seconds: Number(seconds.toFixed(2)),
      submissionsPerSecond: Math.round(total / seconds),
      latencyMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
      lastJobId: info.jobs[0]?.jobId,
      dbBytes,
      ...(restart && { restart }),
    }),
  );
}

void main();
