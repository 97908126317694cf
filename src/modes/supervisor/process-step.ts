// A non-container step: a batch script (on the job's first node) or a crun command (its tasks on each
// node), run as the job's user inside the step's cgroup.
//
// The child is started through /bin/sh as root only long enough to join the cgroup, then setpriv drops
// to the user's uid/gid before anything of the user's runs; output files are opened by the user's own
// shell, so a job can only write where its user may.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JobStatus, type StepToD } from "../../core/generated/crane/crane";
import { userByUid } from "../../core/identity";
import { statusFromExit } from "../../core/job-state";
import { resolveOutputPath } from "../../core/parse/output-pattern";
import { cgroupDirs, createStepCgroup, oomKillCount } from "../../core/cgroup";
import { CriLogWriter } from "./log-writer";
import type { Reporter } from "./report";

const JOIN_AND_DROP = [
  'IFS=:; for f in $CRANE_CG_PROCS; do echo $$ > "$f" || exit 125; done; unset CRANE_CG_PROCS IFS',
  'if [ -n "$CRANE_RUN_UID" ]; then u=$CRANE_RUN_UID g=$CRANE_RUN_GID grp=$CRANE_RUN_GROUPS; unset CRANE_RUN_UID CRANE_RUN_GID CRANE_RUN_GROUPS;',
  '  exec setpriv --reuid="$u" --regid="$g" $grp -- "$@"; fi',
  'exec "$@"',
].join("\n");

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
  const user = userByUid(step.uid);
  const cwd = step.cwd && fs.existsSync(step.cwd) ? step.cwd : user?.home && fs.existsSync(user.home) ? user.home : "/";
  const baseEnv: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ...step.env,
    HOME: user?.home ?? step.env.HOME ?? "/",
    USER: step.username,
    LOGNAME: step.username,
    ...opts.env,
    CRANE_CG_PROCS: procsFiles.join(":"),
  };
  if (step.uid !== 0) {
    baseEnv.CRANE_RUN_UID = String(step.uid);
    baseEnv.CRANE_RUN_GID = String(step.gid);
    baseEnv.CRANE_RUN_GROUPS = user ? "--init-groups" : "--clear-groups";
  }

  const children: ChildProcess[] = [];
  let stopReason: JobStatus | undefined;
  let logWriter: CriLogWriter | undefined;

  if (step.isBatchPrimary) {
    const script = path.join(opts.stateDir, "scripts", `${step.jobId}.sh`);
    fs.writeFileSync(script, step.shScript, { mode: 0o755 });
    const ctx = {
      jobId: step.jobId, stepId: step.stepId, jobName: step.jobName, user: step.username, nodeName: node,
      nodeIndex: step.nodeIndex, taskId: 0,
    };
    const isDir = (p: string) => fs.existsSync(p) && fs.statSync(p).isDirectory();
    const out = resolveOutputPath(step.io?.outputPattern || undefined, cwd, ctx, isDir);
    const err = step.io?.errorPattern ? resolveOutputPath(step.io.errorPattern, cwd, ctx, isDir) : out;
    const append = step.io?.openModeAppend ? ">>" : ">";
    const interpreter = step.interpreter?.replace(/^#!\s*/, "").trim() || "/bin/sh";
    // Opened by the user's shell, after the privilege drop. The paths travel as arguments ($1 output, $2 error,
    // $3 script), not in the environment: the script sees only the documented CRANE_* variables.
    const redirect = out === err ? `exec ${append}"$1" 2>&1 </dev/null` : `exec ${append}"$1" 2${append}"$2" </dev/null`;
    const runner = `${redirect}; s=$3; shift 3; exec ${interpreter} "$s"`;
    children.push(spawnTask(["/bin/sh", "-c", runner, "crane-batch", out, err, script], baseEnv, cwd));
  } else {
    logWriter = new CriLogWriter(path.join(opts.stateDir, "logs", String(step.jobId), `${step.stepId}.log`));
    const n = Math.max(1, step.ntasksPerNode);
    for (let i = 0; i < n; i++) {
      const procId = step.nodeIndex * n + i;
      const child = spawnTask(step.argv, { ...baseEnv, CRANE_PROCID: String(procId), CRANE_LOCALID: String(i) }, cwd, true);
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
    else if (failed?.code === 125) reason = "could not join the step's cgroup";
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

function spawnTask(argv: string[], env: Record<string, string>, cwd: string, pipe = false): ChildProcess {
  return spawn("/bin/sh", ["-c", JOIN_AND_DROP, "crane-step", ...argv], {
    cwd,
    env,
    detached: true, // own process group, so a stop reaches every process of the task
    stdio: pipe ? ["ignore", "pipe", "pipe"] : ["ignore", "ignore", "ignore"],
  });
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
