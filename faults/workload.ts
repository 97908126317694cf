// The mix of jobs each fault hits mid-run: batch scripts (one exits 3, one runs a `crun` step inside its allocation),
// a foreground `crun` and detached containers (one exits 5). Each prints a start line, sleeps for a known run time and
// prints a done line, so how it must end (state, exit code) and what its output must hold are known in advance.
import fs from "node:fs";
import path from "node:path";
import { finished, jobIdOf, type JobJson, type RunResult, type TestCluster, waitFor } from "../test/harness/cluster";

/** How long each job of the mix runs: long enough that every fault is injected and over before any job ends. */
export const RUN_SECONDS = 12;

/** A job that was accepted, with what it must end as and what its output must hold. */
export interface WatchedJob {
  label: string;
  jobId: number;
  /** The step whose state and exit code are the job's outcome (1 for all but a crun step inside a batch job). */
  stepId: number;
  status: string;
  exitCode: number;
  lines: string[];
  /** The output as its user reads it: the batch output file, `ccon logs`, or the foreground crun's stdout. */
  output: () => Promise<string>;
  /** A foreground client (crun) whose own exit code must be the job's. */
  client?: Promise<RunResult>;
}

export interface Outcome {
  jobs: number;
  lost: string[];
  wronglyFailed: string[];
  outputLost: string[];
}

/** `sh -c` text: the start line, the run time, the done line, then the exit code. */
function script(tag: string, seconds: number, exitCode: number): string {
  return `echo start-${tag}; sleep ${seconds}; echo done-${tag}${exitCode ? `; exit ${exitCode}` : ""}`;
}

export class Workload {
  readonly jobs: WatchedJob[] = [];

  constructor(
    private readonly cluster: TestCluster,
    /** Unique across the suite: it names the jobs' output files and lines. */
    private readonly name: string,
    /** Nodes to run on (cbatch -w), or undefined for any. */
    private readonly nodelist?: string,
  ) {
    fs.mkdirSync(this.outDir, { recursive: true });
  }

  private get outDir(): string {
    return path.join(this.cluster.dir, "faults-out");
  }

  /** Half a CPU each, so the whole mix fits on one node when the fault is on a node. */
  private get placement(): string[] {
    return ["-c", "0.5", ...(this.nodelist ? ["-w", this.nodelist] : [])];
  }

  private batchOutput(tag: string): { file: string; read: () => Promise<string> } {
    const file = path.join(this.outDir, `${tag}.out`);
    return { file, read: async () => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "") };
  }

  /** Submits a batch job; undefined when it was refused (the caller decides whether a refusal is right). */
  async batch(tag: string, wrap: string, expect: { status: string; exitCode: number; lines: string[]; stepId?: number }): Promise<RunResult> {
    const out = this.batchOutput(tag);
    const r = await this.cluster.run("cbatch", [...this.placement, "-J", tag, "-o", out.file, "--wrap", wrap]);
    if (r.code === 0) this.jobs.push({ label: tag, jobId: jobIdOf(r), stepId: expect.stepId ?? 1, ...expect, output: out.read });
    return r;
  }

  /** Submits the whole mix; every submission must be accepted. */
  async submitMix(seconds = RUN_SECONDS): Promise<void> {
    const tag = (i: number) => `${this.name}-${i}`;
    const lines = (i: number) => [`start-${tag(i)}`, `done-${tag(i)}`];
    const accepted = async (r: Promise<RunResult>, what: string) => {
      const result = await r;
      if (result.code !== 0) throw new Error(`${what} was refused (exit ${result.code}): ${result.stdout}${result.stderr}`);
    };
    await accepted(this.batch(tag(1), script(tag(1), seconds, 0), { status: "Completed", exitCode: 0, lines: lines(1) }), "a batch job");
    await accepted(this.batch(tag(2), script(tag(2), seconds, 3), { status: "Failed", exitCode: 3, lines: lines(2) }), "a batch job");
    // A crun step inside the batch job's allocation: its output reaches the batch output file through crun.
    await accepted(
      this.batch(tag(3), `crun sh -c '${script(tag(3), seconds, 0)}'`, { status: "Completed", exitCode: 0, lines: lines(3), stepId: 2 }),
      "a batch job running crun",
    );
    await this.foregroundCrun(tag(4), seconds, lines(4));
    await this.container(tag(5), seconds, 0, lines(5));
    await this.container(tag(6), seconds, 5, lines(6));
  }

  private async foregroundCrun(tag: string, seconds: number, lines: string[]): Promise<void> {
    const client = this.cluster.run("crun", [...this.placement, "-J", tag, "sh", "-c", script(tag, seconds, 0)], { timeoutMs: 300_000 });
    // crun prints nothing until the job runs: its job is found by name.
    let jobId: number | undefined;
    await waitFor(`the job of crun ${tag} to appear`, async () => {
      const r = await this.cluster.run("cqueue", ["--json", "-a", "-n", tag]);
      jobId = r.code === 0 ? (JSON.parse(r.stdout) as { jobs: JobJson[] }).jobs[0]?.job_id : undefined;
      return jobId !== undefined;
    });
    let stdout = "";
    this.jobs.push({
      label: tag,
      jobId: jobId!,
      stepId: 1,
      status: "Completed",
      exitCode: 0,
      lines,
      client: client.then((r) => ((stdout = r.stdout), r)),
      output: async () => stdout,
    });
  }

  private async container(tag: string, seconds: number, exitCode: number, lines: string[]): Promise<void> {
    const r = await this.cluster.run("ccon", [...this.placement, "run", "-d", "--name", tag, "busybox", "sh", "-c", script(tag, seconds, exitCode)]);
    const id = r.stdout.trim();
    if (r.code !== 0 || !/^\d+\.1$/.test(id)) throw new Error(`ccon run -d ${tag} failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
    this.jobs.push({
      label: tag,
      jobId: Number(id.split(".")[0]),
      stepId: 1,
      status: exitCode === 0 ? "Completed" : "Failed",
      exitCode,
      lines,
      output: async () => (await this.cluster.run("ccon", ["logs", id])).stdout,
    });
  }

  /** One cqueue call for all the jobs: those it knows, by id. */
  async query(): Promise<Map<number, JobJson>> {
    const r = await this.cluster.run("cqueue", ["--json", "-a", "-j", this.jobs.map((j) => j.jobId).join(",")]);
    if (r.code !== 0) return new Map();
    return new Map((JSON.parse(r.stdout) as { jobs: JobJson[] }).jobs.map((j) => [j.job_id, j]));
  }

  /** Waits until the step of every job runs (the fault must find them all mid-run). */
  async waitAllRunning(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `every job of ${this.name} to run`,
      async () => {
        const seen = await this.query();
        return this.jobs.every((j) => seen.get(j.jobId)?.steps.some((s) => s.step_id === j.stepId && s.status === "Running"));
      },
      timeoutMs,
    );
  }

  /** Waits until the job's step runs on its node or the job ended. */
  async waitStarted(label: string, { timeoutMs = 30_000, orRequeued = false } = {}): Promise<void> {
    const watched = this.jobs.find((j) => j.label === label);
    if (!watched) throw new Error(`no job ${label} was accepted`);
    await waitFor(
      `job ${label} to start or end`,
      async () => {
        const job = (await this.query()).get(watched.jobId);
        if (job === undefined) return false;
        if (orRequeued && job.status === "Pending" && job.requeue_count > 0) return true;
        return finished(job) || job.steps.some((s) => s.step_id === watched.stepId && s.status === "Running");
      },
      timeoutMs,
    );
  }

  /** Waits (bounded) for every job to end, then judges each: lost, wrongly failed, output lost. */
  async judge(timeoutMs: number): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    let seen = await this.query();
    while (Date.now() < deadline && !this.jobs.every((j) => isOver(seen.get(j.jobId)))) {
      await new Promise((r) => setTimeout(r, 500));
      seen = await this.query();
    }
    const outcome: Outcome = { jobs: this.jobs.length, lost: [], wronglyFailed: [], outputLost: [] };
    for (const j of this.jobs) {
      const job = seen.get(j.jobId);
      const what = `${j.label} (job ${j.jobId})`;
      if (!job || !finished(job)) {
        outcome.lost.push(`${what}: ${job ? `still ${job.status}` : "unknown to ctld"}`);
        continue;
      }
      const step = job.steps.find((s) => s.step_id === j.stepId);
      const problems: string[] = [];
      if (job.status !== j.status) problems.push(`job ${job.status} (${job.reason || "no reason"}), expected ${j.status}`);
      if (!step) problems.push(`step ${j.stepId} missing`);
      else if (step.status !== j.status || step.exit_code !== j.exitCode) {
        problems.push(`step ${j.stepId} ${step.status} exit ${step.exit_code} (${step.reason || "no reason"}), expected ${j.status} exit ${j.exitCode}`);
      }
      if (j.client) {
        const r = await j.client;
        if (r.code !== j.exitCode) problems.push(`client exited ${r.code}: ${r.stderr.trim()}`);
      }
      if (problems.length > 0) outcome.wronglyFailed.push(`${what}: ${problems.join("; ")}`);
      const output = (await j.output()).split("\n");
      const missing = j.lines.filter((l) => !output.includes(l));
      if (missing.length > 0) outcome.outputLost.push(`${what}: missing ${missing.join(", ")}`);
    }
    return outcome;
  }

  /** Cancels what is still active (a lost job must not hold resources into the next fault). */
  async cancelLeftovers(): Promise<void> {
    const seen = await this.query();
    const active = this.jobs.filter((j) => !isOver(seen.get(j.jobId))).map((j) => String(j.jobId));
    if (active.length > 0) await this.cluster.run("ccancel", active);
  }
}

function isOver(job: JobJson | undefined): boolean {
  return job !== undefined && finished(job);
}
