// A non-container step: a batch script (on the job's first node) or a crun command (its tasks on each node), run
// as the job's user inside the step's cgroup. Each task runs under its own shim (launch.ts), which holds its exit
// status on disk; a supervisor that restarts picks the tasks up from there (`resume`).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { JobStatus, type StepToD } from "../../core/generated/crane/crane";
import { statusFromExit } from "../../core/job-state";
import { signalOfExitCode } from "../../core/signals";
import { resolveOutputPath } from "../../core/parse/output-pattern";
import { CgroupUsageMeter, cgroupDirs, createStepCgroup, oomKillCount } from "../../core/cgroup";
import { identify, isAlive, readIdentityFile, signalChildGroup, writeIdentityFile, type ProcessIdentity } from "../../core/node/process-identity";
import { CriLogWriter } from "./log-writer";
import { PtyTerminal, ptyArgv } from "./pty";
import { stepCredentials } from "./credentials";
import { launchArgv, LAUNCH_ENV, SHIM_SETUP_FAILED, userEnvScript, type TaskLaunch } from "./launch";
import { DEFAULT_STOP_GRACE_SECONDS, type RunningStep, type StepContext, type StepOutcome } from "./running-step";
import { createFifos, openTaskEnd, OUTPUT_STREAMS, readFifo } from "./task-output";

const RESUMED_POLL_MS = 200;

/** How one task ended: its exit status from the shim's file, or why there is none. */
type TaskEnd = { code: number } | { lost: string };

export function startProcessStep(ctx: StepContext): RunningStep {
  const { spec, layout } = ctx;
  const step = spec.step;
  const cg = createStepCgroup(spec.jobCgroup, step.stepId);
  // The kernel counts a kill in the victim's own cgroup (v1) or in the limited ancestor (v2 events): read both.
  const oomKills = () => oomKillCount(cg) + oomKillCount(spec.jobCgroup);
  const oomBefore = ctx.resume ? 0 : oomKills();
  // Read before the job's cgroup (with this one in it) is removed, which happens only after the step ended.
  const meter = new CgroupUsageMeter(cg);
  const taskCount = step.isBatchPrimary ? 1 : Math.max(1, step.ntasksPerNode);
  const files = (i: number) => ({
    shim: layout.shimPidFile(step.jobId, step.stepId, i),
    task: layout.taskPidFile(step.jobId, step.stepId, i),
    exit: layout.taskExitFile(step.jobId, step.stepId, i),
    stdin: layout.taskFifo(step.jobId, step.stepId, i, "stdin"),
    stdout: layout.taskFifo(step.jobId, step.stepId, i, "stdout"),
    stderr: layout.taskFifo(step.jobId, step.stepId, i, "stderr"),
  });
  const { gid } = stepCredentials(step, spec.node);
  // crun --pty: task 0 in a terminal (pty.ts). When its last session goes (crun went away), the step is cancelled,
  // as srun's end ends its step: script gets SIGTERM and closes the terminal, which hangs up the shell in it.
  const terminal =
    step.pty && !step.isBatchPrimary ? new PtyTerminal(files(0).stdin, files(0).task, { uid: step.uid, gid }, () => stop(JobStatus.Cancelled)) : undefined;
  const shims: (ProcessIdentity | undefined)[] = [];
  let stopReason: JobStatus | undefined;
  let logWriter: CriLogWriter | undefined;
  let ends: Promise<TaskEnd>[];
  /** Copies task i's output FIFOs into the step's log; settles once the task and its shim have closed them. */
  const copyOutput = (i: number) =>
    OUTPUT_STREAMS.map((stream) =>
      readFifo(files(i)[stream], (d) => {
        logWriter!.write(stream, d);
        if (i === 0 && stream === "stdout") terminal?.output(d);
      }),
    );
  const afterOutput = (end: Promise<TaskEnd>, copies: Promise<void>[]) => Promise.all([end, ...copies]).then(([e]) => e);

  if (ctx.resume) {
    if (!step.isBatchPrimary) logWriter = new CriLogWriter(layout.logFile(step.jobId, step.stepId), ctx.log, ctx.logLimits);
    ends = Array.from({ length: taskCount }, (_, i) => {
      const shim = readIdentityFile(files(i).shim);
      shims.push(shim);
      return afterOutput(awaitResumedTask(shim, files(i).exit), logWriter ? copyOutput(i) : []);
    });
  } else {
    const launches = taskLaunches(
      ctx,
      cgroupDirs(cg).map((d) => path.join(d, "cgroup.procs")),
      files,
    );
    if (!step.isBatchPrimary) {
      createFifos([...launches.flatMap((_, i) => OUTPUT_STREAMS.map((stream) => files(i)[stream])), ...(terminal ? [files(0).stdin] : [])]);
      logWriter = new CriLogWriter(layout.logFile(step.jobId, step.stepId), ctx.log, ctx.logLimits);
    }
    ends = launches.map((launch, i) => {
      const output = logWriter ? { stdout: openTaskEnd(files(i).stdout), stderr: openTaskEnd(files(i).stderr) } : undefined;
      const copies = output ? copyOutput(i) : [];
      const input = terminal && i === 0 ? openTaskEnd(files(0).stdin) : undefined;
      const child = spawnShim(launch, output, input);
      if (output) OUTPUT_STREAMS.forEach((stream) => fs.closeSync(output[stream])); // the task's now: the copies end with it
      if (input !== undefined) fs.closeSync(input);
      const who = child.pid === undefined ? undefined : identify(child.pid);
      shims.push(who);
      if (who) writeIdentityFile(files(i).shim, who);
      const end = new Promise<TaskEnd>((resolve) => {
        child.on("error", (e) => resolve({ lost: `cannot start the task: ${e.message}` }));
        child.on("close", (code) => resolve(readExit(files(i).exit) ?? shimEnd(code)));
      });
      return afterOutput(end, copies);
    });
    void ctx.reporter.report(JobStatus.Running);
  }

  if (terminal) void ends[0]!.then((e) => terminal.end("code" in e ? e.code : 1));
  const done = Promise.all(ends).then((results): StepOutcome => {
    logWriter?.close();
    const usage = meter.stop();
    const lost = results.find((r): r is { lost: string } => "lost" in r);
    const failed = results.find((r): r is { code: number } => "code" in r && r.code !== 0);
    const oom = oomKills() > oomBefore && !ctx.resume;
    if (lost) return { status: stopReason ?? JobStatus.Failed, exitCode: 0, reason: lost.lost, usage };
    const exitCode = failed?.code ?? 0;
    const signal = signalOfExitCode(exitCode);
    const status = stopReason ?? statusFromExit(exitCode, signal, oom);
    let reason = "";
    if (oom) reason = "killed by the memory limit (OOM)";
    else if (signal) reason = `killed by ${signal}`;
    else if (failed) reason = `exited with code ${exitCode}`;
    return { status, exitCode, reason, usage };
  });

  const signalTasks = (signal: NodeJS.Signals) => {
    for (let i = 0; i < taskCount; i++) void signalTask(shims[i], files(i).task, signal);
  };
  function stop(reason: JobStatus, graceSeconds = DEFAULT_STOP_GRACE_SECONDS): void {
    stopReason = reason;
    signalTasks("SIGTERM");
    setTimeout(() => signalTasks("SIGKILL"), graceSeconds * 1000).unref();
  }
  return {
    done,
    terminal,
    stop,
    signal(signal) {
      signalTasks(signal);
      return Promise.resolve("");
    },
  };
}

/** The launch of each task: the user, the cgroup, and for a batch step its script and output files. */
function taskLaunches(ctx: StepContext, cgroupProcs: string[], files: (i: number) => { task: string; exit: string }): TaskLaunch[] {
  const { spec, layout } = ctx;
  const step = spec.step;
  const { user, gid } = stepCredentials(step, spec.node);
  const pty = step.pty && !step.isBatchPrimary;
  const home = user?.home ?? "/";
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ...step.env,
    HOME: home,
    USER: user?.name ?? step.username,
    LOGNAME: user?.name ?? step.username,
    ...ctx.env,
  };
  const base = { uid: step.uid, gid, cgroupProcs, cwd: step.cwd || home };
  if (step.isBatchPrimary) {
    const script = layout.scriptFile(step.jobId);
    fs.rmSync(script, { force: true });
    fs.writeFileSync(script, step.shScript, { mode: 0o700 });
    fs.chownSync(script, step.uid, gid);
    const batch = batchFiles(step, spec.node, base.cwd, script);
    return [{ ...base, env, taskPidFile: files(0).task, exitFile: files(0).exit, mode: { batch } }];
  }
  const n = Math.max(1, step.ntasksPerNode);
  return Array.from({ length: n }, (_, i) => ({
    ...base,
    env: { ...env, CRANE_PROCID: String(step.nodeIndex * n + i), CRANE_LOCALID: String(i) },
    taskPidFile: files(i).task,
    exitFile: files(i).exit,
    mode: { argv: pty && i === 0 ? ptyArgv(step.argv) : step.argv },
  }));
}

function batchFiles(step: StepToD, node: string, cwd: string, script: string) {
  const ctx = {
    jobId: step.jobId,
    stepId: step.stepId,
    jobName: step.jobName,
    user: step.username,
    nodeName: node,
    nodeIndex: step.nodeIndex,
    taskId: 0,
    arrayJobId: step.array?.arrayJobId,
    arrayTaskId: step.array?.taskId,
  };
  const isDir = (p: string) => fs.existsSync(p) && fs.statSync(p).isDirectory();
  const output = resolveOutputPath(step.io?.outputPattern || undefined, cwd, ctx, isDir);
  const error = step.io?.errorPattern ? resolveOutputPath(step.io.errorPattern, cwd, ctx, isDir) : output;
  const interpreter = step.interpreter?.replace(/^#!\s*/, "").trim() || "/bin/sh";
  return { script, interpreter, output, error, append: step.io?.openModeAppend ?? false };
}

/**
 * `output`: the task's ends of its output FIFOs (task-output.ts); a batch script opens its own files. `input`: its
 * end of the terminal's stdin FIFO (pty.ts); other tasks read /dev/null.
 */
function spawnShim(task: TaskLaunch, output?: { stdout: number; stderr: number }, input?: number): ChildProcess {
  const [file, ...args] = launchArgv(task);
  const child = spawn(file!, args, {
    cwd: "/",
    env: LAUNCH_ENV,
    detached: true, // its own session: nothing aimed at the supervisor reaches it
    // fd 3 carries the user's environment to the user part, never through the root part's environment.
    stdio: output ? [input ?? "ignore", output.stdout, output.stderr, "pipe"] : ["ignore", "ignore", "ignore", "pipe"],
  });
  const envPipe = child.stdio[3] as NodeJS.WritableStream | null;
  envPipe?.on("error", () => undefined); // a task that never read it (it could not start) is reported by its exit
  envPipe?.end(userEnvScript(task.env));
  return child;
}

function readExit(file: string): { code: number } | undefined {
  try {
    const code = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(code) ? { code } : undefined;
  } catch {
    return undefined;
  }
}

/** A shim that ended without writing the task's status: it failed before the task, or was killed. */
function shimEnd(code: number | null): TaskEnd {
  if (code === SHIM_SETUP_FAILED) return { lost: "could not join the step's cgroup or open its script" };
  return { lost: `the task's shim ended without its exit status (${code === null ? "killed" : `code ${code}`})` };
}

/** A task started by an earlier supervisor: its status once its shim has written it. */
async function awaitResumedTask(shim: ProcessIdentity | undefined, exitFile: string): Promise<TaskEnd> {
  for (;;) {
    const end = readExit(exitFile);
    if (end) return end;
    if (!isAlive(shim)) return readExit(exitFile) ?? { lost: "the task's shim is gone and left no exit status" };
    await new Promise((r) => setTimeout(r, RESUMED_POLL_MS));
  }
}

/** Signals the task's process group (process-identity.ts); a stop right at the start waits briefly for its pid. */
async function signalTask(shim: ProcessIdentity | undefined, taskPidFile: string, signal: NodeJS.Signals): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (signalChildGroup(shim, taskPidFile, signal) !== "unwritten") return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
