// Memory and speed of a big step log, end to end (node -> ctld -> CLI): a process step (`crun`, its output streamed
// while it runs) and a container step (`ccon logs -f` while it runs, then `ccon logs` once it ended) each print
// `--mb` MiB of 100-byte lines, and the CLI's stdout is piped into a byte counter here. Prints one JSON object: per
// run the bytes expected and received, seconds, MB/s, and the peak RSS (VmHWM, reset before each run through
// /proc/PID/clear_refs) of craned, ctld, the node's supervisor and the CLI, beside the aim.
//   npm run bench:logs -- [--mb 1024]
// Needs root, containerd, runc, busybox-static and a built dist/crane (a private cluster and containerd, no pulls).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { readIdentityFile } from "../src/core/node/process-identity";
import { DIST, nodeLayout, startCluster, type TestCluster } from "../test/harness/cluster";
import { startContainerd } from "../test/harness/containerd";

const AIM_MB = 150;
const LINE = `${"0123456789".repeat(9)}abcdefghi\n`; // 100 bytes
const SAMPLE_MS = 50;

const mib = (() => {
  const i = process.argv.indexOf("--mb");
  return i > 0 ? Number(process.argv[i + 1]) : 1024;
})();
const lineCount = Math.floor((mib * 1024 * 1024) / LINE.length);
const expectedBytes = lineCount * LINE.length;
const printCommand = `yes '${LINE.slice(0, -1)}' | head -n ${lineCount}`;

function statusKb(pid: number, field: "VmHWM" | "VmRSS"): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited
  }
}

/** Makes VmHWM start again from the current RSS, so that each run's peak is its own. */
function resetPeak(pid: number): void {
  fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

const mb = (kb: number) => Math.round(kb / 1024);

interface Daemons {
  ctld: number;
  craned: number;
  supervisor: number;
}

function daemons(cluster: TestCluster): Daemons {
  const pids = cluster.pids();
  const node = cluster.nodes[0]!;
  const layout = nodeLayout(cluster, node);
  const supervisor = readIdentityFile(layout.supervisorPidFile)?.pid;
  if (!supervisor) throw new Error("the node's supervisor is not running");
  return { ctld: pids.ctld, craned: pids.craneds[node]!, supervisor };
}

interface CliRun {
  code: number;
  stderr: string;
  bytes: number;
  newlines: number;
  seconds: number;
  peakKb: number;
}

/** Runs a user command with its stdout counted, not kept; samples its RSS until it exits. */
function countOutput(cluster: TestCluster, cmd: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(path.join(DIST, cmd), args, { cwd: cluster.dir, env: cluster.env, stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    let newlines = 0;
    let stderr = "";
    let peakKb = 0;
    const sampler = setInterval(() => (peakKb = Math.max(peakKb, statusKb(child.pid!, "VmHWM"))), SAMPLE_MS);
    child.stdout.on("data", (d: Buffer) => {
      bytes += d.length;
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) newlines++;
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(sampler);
      resolve({ code: code ?? -1, stderr, bytes, newlines, seconds: (performance.now() - t0) / 1000, peakKb });
    });
  });
}

async function measured(cluster: TestCluster, name: string, cmd: string, args: string[]) {
  const d = daemons(cluster);
  for (const pid of Object.values(d)) resetPeak(pid);
  const r = await countOutput(cluster, cmd, args);
  if (r.code !== 0) throw new Error(`${name}: ${cmd} ${args.join(" ")} exited with ${r.code}: ${r.stderr}`);
  const peakRssMb = {
    craned: mb(statusKb(d.craned, "VmHWM")),
    ctld: mb(statusKb(d.ctld, "VmHWM")),
    supervisor: mb(statusKb(d.supervisor, "VmHWM")),
    cli: mb(r.peakKb),
  };
  const result = {
    run: name,
    bytesExpected: expectedBytes,
    bytesReceived: r.bytes,
    complete: r.bytes === expectedBytes && r.newlines === lineCount,
    seconds: Number(r.seconds.toFixed(1)),
    mbPerSecond: Number((r.bytes / 1048576 / r.seconds).toFixed(1)),
    peakRssMb,
    aimMb: AIM_MB,
    withinAim: Object.values(peakRssMb).every((v) => v < AIM_MB),
  };
  process.stderr.write(`${JSON.stringify(result)}\n`);
  return result;
}

async function main() {
  const containerd = await startContainerd();
  const cluster = await startCluster({ runtimeEndpoint: containerd.socket });
  const runs = [];
  try {
    runs.push(await measured(cluster, "crun (process step, streamed while it runs)", "crun", ["sh", "-c", printCommand]));

    const started = await cluster.run("ccon", ["run", "-d", "busybox", "sh", "-c", printCommand]);
    const id = started.stdout.trim();
    if (started.code !== 0 || !/^\d+\.\d+$/.test(id)) throw new Error(`ccon run -d failed: ${started.stdout}${started.stderr}`);
    runs.push(await measured(cluster, "ccon logs -f (container step, while it runs)", "ccon", ["logs", "-f", id]));
    await cluster.waitJob(Number(id.split(".")[0]), (j) => j.steps.some((s) => s.step_id === Number(id.split(".")[1]) && s.status === "Completed"), 120_000);
    runs.push(await measured(cluster, "ccon logs (container step, ended)", "ccon", ["logs", id]));
  } finally {
    await cluster.stop();
    await containerd.stop();
  }
  console.log(JSON.stringify({ mib, lines: lineCount, lineBytes: LINE.length, runs }, null, 2));
  if (runs.some((r) => !r.complete)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
