// The fuzz run: a private local cluster (`crane up` through the test harness), every public method fuzzed in turn
// from several Unix identities, the daemons checked after each method (alive, nothing unhandled in their logs),
// then a normal job as a sanity check, and the cluster removed again whatever happened.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { loadConfig } from "../src/core/config";
import { loadNodeKey, nodeKeyPath } from "../src/core/auth/node-credential";
import { CancelJobRequest, QueryJobsRequest } from "../src/core/generated/crane/crane";
import { userByUid } from "../src/core/identity";
import { ctldClient, unary } from "../src/core/rpc";
import { CRANE, finished, jobIdOf, processGone, startCluster, waitFor, type TestCluster } from "../test/harness/cluster";
import { addTally, emptyTally, runCalls, type CallBatch, type Tally } from "./calls";
import type { FuzzContext } from "./generate";
import { loadMethods, type Endpoint, type MethodSchema } from "./schema";
import type { Deadlines } from "./send";
import type { WorkerRequest } from "./worker";

export interface FuzzOptions {
  perMethod: number;
  seed: number;
  /** Only the methods whose id ("Service/Method") contains one of these. */
  methods?: string[];
  /** Only these client identities (root, nobody, stranger). */
  identities?: Identity[];
  /** Replay: only this call index (of each selected method and identity). */
  call?: number;
  /** Calls in flight per client process. */
  concurrency?: number;
  deadlines?: Deadlines;
  /**
   * The RSS ctld or craned may reach by the end before the run fails. An absolute bound: V8 grows its heap well before
   * it collects, so the ratio to the start (printed too) says little over a short run.
   */
  maxRssMb?: number;
  /** Leave the cluster running at the end (for a look at its logs); its directory is printed. */
  keepCluster?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** root: in this process, trusted as root. nobody: an ordinary user. stranger: a uid without an account (refused). */
export type Identity = "root" | "nobody" | "stranger";
const IDENTITY_SHARE: Record<Identity, number> = { root: 0.4, nobody: 0.4, stranger: 0.2 };

export interface MethodReport {
  method: string;
  tally: Tally;
  seconds: number;
  /** Daemons found dead after the method. */
  crashes: string[];
  /** Uncaught exceptions, unhandled rejections and fatal errors in the daemons' logs. */
  unhandled: string[];
  /** Handlers that threw (answered INTERNAL by the safety net), from the daemons' logs. */
  handlerFaults: string[];
}

export interface Rss {
  daemon: string;
  beforeKb: number;
  afterKb: number;
}

export interface FuzzReport {
  seed: number;
  methods: MethodReport[];
  total: Tally;
  crashes: string[];
  unhandled: string[];
  handlerFaults: string[];
  rss: Rss[];
  sanity: { ok: boolean; details: string };
  aborted: boolean;
  ok: boolean;
  verdict: string;
}

// Unary: above the longest wait craned has by design (FreeJob waits up to 2 x FREE_WAIT_MS for the steps to end).
const DEFAULT_DEADLINES: Deadlines = { unaryMs: 70_000, streamMs: 3_000, graceMs: 10_000 };
const WORKER = path.join(__dirname, "worker.ts");
const TSX_CLI = require.resolve("tsx/cli");
const SETPRIV = "/usr/bin/setpriv";

const UNHANDLED = /unhandledRejection|UnhandledPromiseRejection|uncaughtException|Uncaught |FATAL ERROR|heap out of memory|^Node\.js v\d+/m;
/** safeHandlers' line for a handler that threw: `<time> <role> ERROR <method> failed: <stack>`. */
const HANDLER_FAULT = /^\S+ \S+ ERROR ([a-z]\w*) failed: (.*)$/gm;

// ------------------------------------------------------------------------------------------------ client processes

/** A fuzz client process under another uid (setpriv), fed batches as JSON lines. */
class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((t: Tally) => void)[] = [];
  private exited: string | undefined;

  constructor(
    readonly identity: Identity,
    uid: number,
    scratchDir: string,
  ) {
    this.child = spawn(SETPRIV, [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--", process.execPath, TSX_CLI, WORKER], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratchDir },
      cwd: scratchDir,
    });
    this.child.stderr.on("data", (d: Buffer) => process.stderr.write(`[fuzz client ${identity}] ${d}`));
    readline.createInterface({ input: this.child.stdout }).on("line", (line) => this.waiting.shift()?.(JSON.parse(line) as Tally));
    this.child.on("exit", (code, signal) => {
      this.exited = `fuzz client ${identity} exited (${signal ?? code})`;
      for (const w of this.waiting.splice(0)) w({ ...emptyTally(), hangSamples: [] });
    });
  }

  run(req: WorkerRequest): Promise<Tally> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      this.waiting.push((t) => (this.exited ? reject(new Error(this.exited)) : resolve(t)));
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  stop(): void {
    this.child.stdin.end();
    if (this.child.exitCode === null) setTimeout(() => this.child.kill("SIGKILL"), 5_000).unref();
  }
}

function strangerUid(): number {
  for (let uid = 54321; uid < 64000; uid++) if (!userByUid(uid)) return uid;
  throw new Error("no uid without an account found");
}

// ------------------------------------------------------------------------------------------------ daemon checks

interface Daemon {
  name: string;
  pid: number;
}

function daemonsOf(cluster: TestCluster): Daemon[] {
  const pids = cluster.pids();
  return [{ name: "ctld", pid: pids.ctld }, ...Object.entries(pids.craneds).map(([node, pid]) => ({ name: `craned ${node}`, pid }))];
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Every log file under the cluster's directory (ctld's, each craned's, supervisors'), read from where it was last read. */
class LogWatch {
  private readonly offsets = new Map<string, number>();
  constructor(private readonly dir: string) {
    this.readNew();
  }

  readNew(): { file: string; text: string }[] {
    const out: { file: string; text: string }[] = [];
    for (const file of fs.readdirSync(this.dir, { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".log")) continue;
      const full = path.join(this.dir, file);
      let size: number;
      try {
        size = fs.statSync(full).size;
      } catch {
        continue;
      }
      const from = this.offsets.get(full) ?? 0;
      if (size <= from) continue;
      const fd = fs.openSync(full, "r");
      const buf = Buffer.alloc(size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      fs.closeSync(fd);
      this.offsets.set(full, size);
      out.push({ file, text: buf.toString("utf8") });
    }
    return out;
  }
}

function scanLogs(chunks: { file: string; text: string }[]): { unhandled: string[]; handlerFaults: string[] } {
  const unhandled: string[] = [];
  const handlerFaults: string[] = [];
  for (const { file, text } of chunks) {
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      if (!UNHANDLED.test(line)) return;
      // Node's crash report ends with its version: the error itself is a few lines above.
      const context = /^Node\.js v/.test(line) ? lines.slice(Math.max(0, i - 12), i).filter((l) => l.trim() && !/^\s+at /.test(l)) : [];
      unhandled.push(`${file}: ${[...context, line].join(" | ").slice(0, 600)}`);
    });
    for (const m of text.matchAll(HANDLER_FAULT)) handlerFaults.push(`${file}: ${m[1]} failed: ${m[2]!.slice(0, 300)}`);
  }
  return { unhandled, handlerFaults };
}

// ------------------------------------------------------------------------------------------------ the run

function countsFor(method: MethodSchema, identities: Identity[], perMethod: number): [Identity, number][] {
  // Only ctld's public service knows users; the node services check the node key whoever calls.
  const who = method.endpoint === "ctld" ? identities : identities.filter((i) => i === "root");
  const shares = who.map((i) => IDENTITY_SHARE[i]);
  const sum = shares.reduce((a, b) => a + b, 0);
  let left = perMethod;
  return who.map((i, k) => {
    const n = k === who.length - 1 ? left : Math.round((perMethod * shares[k]!) / sum);
    left -= n;
    return [i, n];
  });
}

async function highestJobId(cluster: TestCluster): Promise<number> {
  const client = ctldClient("127.0.0.1", cluster.port);
  try {
    const r = await unary(client, client.queryJobsInfo, QueryJobsRequest.fromPartial({ includeCompleted: true, limit: 1 }));
    return r.jobs[0]?.jobId ?? 0;
  } catch {
    return 0;
  } finally {
    client.close();
  }
}

/** Cancels every job the fuzz left, then runs `cbatch --wrap true`: it must complete. */
async function sanityCheck(cluster: TestCluster, scratchDir: string): Promise<{ ok: boolean; details: string }> {
  const client = ctldClient("127.0.0.1", cluster.port);
  try {
    await unary(client, client.cancelJob, CancelJobRequest.fromPartial({}), 60_000);
    await waitFor(
      "the jobs left by the fuzz to end after cancelling them",
      async () => (await unary(client, client.queryJobsInfo, QueryJobsRequest.fromPartial({}), 30_000)).jobs.length === 0,
      120_000,
    );
    const id = jobIdOf(await cluster.run("cbatch", ["--wrap", "true"], { cwd: scratchDir }));
    const job = await cluster.waitJob(id, finished, 120_000);
    const ok = job.status === "Completed" && job.exit_code === 0;
    return { ok, details: `job ${id} (cbatch --wrap true) ended ${job.status}, exit code ${job.exit_code}${job.reason ? `, ${job.reason}` : ""}` };
  } catch (e) {
    return { ok: false, details: (e as Error).message };
  } finally {
    client.close();
  }
}

function formatOutcomes(t: Tally): string {
  return Object.entries(t.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const deadlines = opts.deadlines ?? DEFAULT_DEADLINES;
  const concurrency = opts.concurrency ?? 16;
  const identities = opts.identities ?? (["root", "nobody", "stranger"] as Identity[]);
  const maxRssMb = opts.maxRssMb ?? 2048;
  const methods = loadMethods().filter((m) => !opts.methods?.length || opts.methods.some((s) => m.id.includes(s)));
  if (!methods.length) throw new Error(`no method matches ${opts.methods?.join(", ")}`);
  const aborted = () => opts.signal?.aborted === true;

  const report: FuzzReport = {
    seed: opts.seed,
    methods: [],
    total: emptyTally(),
    crashes: [],
    unhandled: [],
    handlerFaults: [],
    rss: [],
    sanity: { ok: false, details: "not run" },
    aborted: false,
    ok: false,
    verdict: "",
  };
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-fuzz-"));
  fs.chmodSync(scratchDir, 0o1777);
  let cluster: TestCluster | undefined;
  const workers = new Map<Identity, Worker>();
  try {
    log(`seed ${opts.seed}: starting a private cluster`);
    cluster = await startCluster({ nodes: 1 });
    const config = loadConfig(cluster.configFile);
    const node = config.nodes[0]!;
    const addresses: Record<Endpoint, string> = {
      ctld: `127.0.0.1:${config.ctldPort}`,
      "ctld-internal": `127.0.0.1:${config.ctldInternalPort}`,
      craned: `127.0.0.1:${node.port}`,
    };
    const nodeKeys = Object.fromEntries(config.nodes.map((n) => [n.name, loadNodeKey(nodeKeyPath(config.nodeKeyFile, n.name), n.name, config.clusterKeyFile)]));
    const ctx: FuzzContext = {
      nodes: config.nodes.map((n) => n.name),
      nodeKeys: {},
      partitions: config.partitions.map((p) => p.name),
      users: ["root", "nobody"],
      scratchDir,
      maxJobId: 0,
    };
    log(
      `cluster in ${cluster.dir}: ctld ${addresses.ctld} (internal ${addresses["ctld-internal"]}), craned ${node.name} ${addresses.craned}; cluster dir purged at the end`,
    );
    if (identities.includes("nobody")) workers.set("nobody", new Worker("nobody", 65534, scratchDir));
    if (identities.includes("stranger")) workers.set("stranger", new Worker("stranger", strangerUid(), scratchDir));

    const daemons = daemonsOf(cluster);
    const rssBefore = daemons.map((d) => rssKb(d.pid));
    const logs = new LogWatch(cluster.dir);

    for (const method of methods) {
      if (aborted()) break;
      const started = Date.now();
      ctx.maxJobId = await highestJobId(cluster);
      const batches = countsFor(method, identities, opts.perMethod).map(([identity, count]): Promise<Tally> => {
        const batch: Omit<CallBatch, "method"> = {
          ctx: identity === "root" ? { ...ctx, nodeKeys } : ctx,
          seed: opts.seed,
          identity,
          first: opts.call ?? 0,
          count: opts.call === undefined ? count : 1,
          concurrency,
          deadlines,
          addresses,
        };
        if (identity === "root") return runCalls({ ...batch, method, shouldStop: aborted });
        return workers.get(identity)!.run({ ...batch, methodId: method.id });
      });
      const tally = emptyTally();
      for (const t of await Promise.all(batches)) addTally(tally, t);
      const crashes = daemons.filter((d) => processGone(d.pid)).map((d) => `${d.name} (pid ${d.pid}) died during ${method.id}`);
      const { unhandled, handlerFaults } = scanLogs(logs.readNew());
      const m: MethodReport = { method: method.id, tally, seconds: (Date.now() - started) / 1000, crashes, unhandled, handlerFaults };
      report.methods.push(m);
      addTally(report.total, tally);
      report.crashes.push(...crashes);
      report.unhandled.push(...unhandled);
      report.handlerFaults.push(...handlerFaults);
      log(
        `${method.id.padEnd(38)} sent ${String(tally.sent).padStart(6)} in ${m.seconds.toFixed(1)} s | no answer ${tally.hangs} | crashes ${crashes.length} | ` +
          `unhandled ${unhandled.length} | handler faults ${handlerFaults.length} | ${formatOutcomes(tally)}`,
      );
      for (const s of tally.hangSamples) log(`  no answer: ${s.method} --identity ${s.identity} --call ${s.index} (${s.mutation}): ${s.details}`);
      for (const s of tally.internalSamples) log(`  INTERNAL: "${s.details}" e.g. --identity ${s.identity} --call ${s.index} (${s.mutation})`);
      for (const line of [...crashes, ...unhandled, ...handlerFaults].slice(0, 20)) log(`  ${line}`);
      if (crashes.length) break;
    }
    report.aborted = aborted();

    report.rss = daemons.map((d, i) => ({ daemon: d.name, beforeKb: rssBefore[i]!, afterKb: rssKb(d.pid) }));
    for (const r of report.rss) log(`RSS ${r.daemon}: ${mb(r.beforeKb)} before, ${mb(r.afterKb)} after (x${(r.afterKb / Math.max(1, r.beforeKb)).toFixed(2)})`);
    if (!report.crashes.length && !report.aborted) {
      report.sanity = await sanityCheck(cluster, scratchDir);
      log(`sanity: ${report.sanity.details}`);
      const late = scanLogs(logs.readNew());
      report.unhandled.push(...late.unhandled);
      report.handlerFaults.push(...late.handlerFaults);
    }
  } finally {
    for (const w of workers.values()) w.stop();
    if (cluster && opts.keepCluster) log(`cluster left running in ${cluster.dir}: crane down --dir ${cluster.dir} --purge`);
    else if (cluster) {
      await cluster.stop();
      // Ending thousands of fuzzed tasks can outlast the harness's purge: finish it.
      if (fs.existsSync(cluster.dir)) spawnSync(CRANE, ["down", "--dir", cluster.dir, "--purge"], { env: cluster.env, timeout: 300_000 });
    }
    fs.rmSync(scratchDir, { recursive: true, force: true });
  }

  const rssGrown = report.rss.filter((r) => r.afterKb > maxRssMb * 1024);
  const t = report.total;
  const failures = [
    t.hangs && `${t.hangs} unanswered`,
    report.crashes.length && `${report.crashes.length} daemon crashes`,
    report.unhandled.length && `${report.unhandled.length} unhandled errors`,
    report.handlerFaults.length && `${report.handlerFaults.length} handler faults`,
    rssGrown.length && `RSS above ${maxRssMb} MB (${rssGrown.map((r) => `${r.daemon}: ${mb(r.afterKb)}`).join(", ")})`,
    !report.sanity.ok && `sanity check failed (${report.sanity.details})`,
    report.aborted && "interrupted",
  ].filter(Boolean);
  report.ok = failures.length === 0;
  const counts = `${t.sent} calls to ${report.methods.length} methods, ${t.hangs} unanswered, ${report.crashes.length} crashes, ${report.unhandled.length} unhandled, ${report.handlerFaults.length} handler faults`;
  report.verdict = report.ok ? `PASS: ${counts} (seed ${opts.seed})` : `FAIL: ${failures.join("; ")}; ${counts} (seed ${opts.seed})`;
  return report;
}
