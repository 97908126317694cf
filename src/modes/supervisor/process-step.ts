// A non-container step: a batch script (on the job's first node) or a crun command (its tasks on each
// node), run as the job's user inside the step's cgroup.
//
// The launch follows slurmstepd's order. A root part (launch.ts), started with a fixed environment and absolute
// paths, joins the cgroup and calls setpriv, which sets the groups from the name service, then the gid, then the
// uid. Only then does a user part read the user's environment from a pipe, change to the working directory and
// start the command; output files are opened there too, so a job can only write where its user may.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JobStatus, type StepToD } from "../../core/generated/crane/crane";
import { statusFromExit } from "../../core/job-state";
import { resolveOutputPath } from "../../core/parse/output-pattern";
import { cgroupDirs, createStepCgroup, oomKillCount } from "../../core/cgroup";
import { CriLogWriter } from "./log-writer";
import type { Reporter } from "./report";

import { stepCredentials } from "./credentials";
import { launchArgv, LAUNCH_ENV, userEnvScript, type TaskLaunch } from "./launch";

/** Seconds between SIGTERM and SIGKILL when a stop names none (ccon stop's default). */
export const DEFAULT_STOP_GRACE_SECONDS = 10;

export interface RunningProcessStep {
  done: Promise<{ status: JobStatus; exitCode: number; reason: string }>;
  /** SIGTERM (CRI StopContainer for a container), then SIGKILL after `graceSeconds`. */
  stop(reason: JobStatus, graceSeconds?: number): void;
}

export function startProcessStep(opts: {
  step: StepToD;
  node: string;
  jobCgroup: string;
  stateDir: string;
  env: Record<string, string>;
  reporter: Reporter;
}): RunningProcessStep {
  const { step, node } = opts;
  const cg = createStepCgroup(opts.jobCgroup, step.stepId);
  const procsFiles = cgroupDirs(cg).map((d) => path.join(d, "cgroup.procs"));
  // The kernel counts a kill in the victim's own cgroup (v1) or in the limited ancestor (v2 events): read both.
  const oomKills = () => oomKillCount(cg) + oomKillCount(opts.jobCgroup);
  const oomBefore = oomKills();
  const { user, gid } = stepCredentials(step, node);
  const home = user?.home ?? "/";
  const userEnv: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ...step.env,
    HOME: home,
    USER: user?.name ?? step.username,
    LOGNAME: user?.name ?? step.username,
    ...opts.env,
  };
  const launch: Omit<TaskLaunch, "env" | "mode"> = { uid: step.uid, gid, cgroupProcs: procsFiles, cwd: step.cwd || home };

  const children: ChildProcess[] = [];
  let stopReason: JobStatus | undefined;
  let logWriter: CriLogWriter | undefined;

  if (step.isBatchPrimary) {
    // The user's own file (0700) in root's private directory: only the launch's root part can open it by name,
    // and hands it to the interpreter as an open file.
    const script = path.join(opts.stateDir, "scripts", `${step.jobId}.sh`);
    fs.rmSync(script, { force: true });
    fs.writeFileSync(script, step.shScript, { mode: 0o700 });
    fs.chownSync(script, step.uid, gid);
    const ctx = {
      jobId: step.jobId, stepId: step.stepId, jobName: step.jobName, user: step.username, nodeName: node,
      nodeIndex: step.nodeIndex, taskId: 0,
    };
    const cwd = launch.cwd;
    const isDir = (p: string) => fs.existsSync(p) && fs.statSync(p).isDirectory();
    const out = resolveOutputPath(step.io?.outputPattern || undefined, cwd, ctx, isDir);
    const err = step.io?.errorPattern ? resolveOutputPath(step.io.errorPattern, cwd, ctx, isDir) : out;
    const interpreter = step.interpreter?.replace(/^#!\s*/, "").trim() || "/bin/sh";
    const batch = { script, interpreter, output: out, error: err, append: step.io?.openModeAppend ?? false };
    children.push(spawnTask({ ...launch, env: userEnv, mode: { batch } }, false));
  } else {
    logWriter = new CriLogWriter(path.join(opts.stateDir, "logs", String(step.jobId), `${step.stepId}.log`));
    const n = Math.max(1, step.ntasksPerNode);
    for (let i = 0; i < n; i++) {
      const procId = step.nodeIndex * n + i;
      const env = { ...userEnv, CRANE_PROCID: String(procId), CRANE_LOCALID: String(i) };
      const child = spawnTask({ ...launch, env, mode: { argv: step.argv } }, true);
      child.stdout!.on("data", (d: Buffer) => logWriter!.write("stdout", d));
      child.stderr!.on("data", (d: Buffer) => logWriter!.write("stderr", d));
      children.push(child);
    }
  }

  const exits = children.map(
    (c) =>
      new Promise<{ code: number; signal: string | null; error?: string }>((resolve) => {
        c.on("error", (e) => resolve({ code: 127, signal: null, error: e.message }));
        c.on("close", (code, signal) => resolve({ code: code ?? 128, signal }));
      }),
  );
  void opts.reporter.report(JobStatus.Running);

  const done = Promise.all(exits).then((results) => {
    logWriter?.close();
    const failed = results.find((r) => r.signal || r.code !== 0);
    const exitCode = failed ? (failed.signal ? 128 + signalNumber(failed.signal) : failed.code) : 0;
    const oom = oomKills() > oomBefore;
    let status = statusFromExit(exitCode, failed?.signal ?? null, oom);
    if (stopReason !== undefined) status = stopReason;
    let reason = "";
    if (failed?.error) reason = failed.error;
    else if (oom) reason = "killed by the memory limit (OOM)";
    else if (failed?.signal) reason = `killed by ${failed.signal}`;
    else if (failed?.code === 125) reason = "could not join the step's cgroup or drop privileges";
    else if (failed) reason = `exited with code ${failed.code}`;
    return { status, exitCode, reason };
  });

  return {
    done,
    stop(reason, graceSeconds = DEFAULT_STOP_GRACE_SECONDS) {
      stopReason = reason;
      for (const c of children) killGroup(c, "SIGTERM");
      setTimeout(() => children.forEach((c) => killGroup(c, "SIGKILL")), graceSeconds * 1000).unref();
    },
  };
}

function spawnTask(task: TaskLaunch, pipe: boolean): ChildProcess {
  const [file, ...args] = launchArgv(task);
  const child = spawn(file!, args, {
    cwd: "/",
    env: LAUNCH_ENV,
    detached: true, // own process group, so a stop reaches every process of the task
    // fd 3 carries the user's environment to the user part, never through the root part's environment.
    stdio: pipe ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "ignore", "ignore", "pipe"],
  });
  const envPipe = child.stdio[3] as NodeJS.WritableStream | null;
  envPipe?.on("error", () => undefined); // a task that never read it (it could not start) is reported by its exit
  envPipe?.end(userEnvScript(task.env));
  return child;
}

function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  if (c.pid === undefined || c.exitCode !== null) return;
  try {
    process.kill(-c.pid, signal);
  } catch {
    // already gone
  }
}

function signalNumber(name: string): number {
  return os.constants.signals[name as NodeJS.Signals] ?? 0;
}
