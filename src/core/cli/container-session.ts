// attach / exec / run -it: ask ctld for a session on a running container step (it checks ownership and state and
// routes to the container's node), open it, and turn its end into ccon's exit code.
import { Flags } from "@oclif/core";
import { ErrCode, JobStatus, type ContainerMeta, type StepInfo, type StreamRequest } from "../generated/crane/crane";
import { queryContainerJobs } from "./containers";
import { isTerminal } from "../job-state";
import type { CtldConnection } from "./ctld";
import { shouldEnableDetach } from "./detach";
import { CliError, ExitCode } from "./errors";
import { errCodeName } from "./json";
import { queryStep, stepEnd, type StepEnd } from "./step-client";
import { connectStream, runSession, type SessionEnd } from "./stream-session";

/** The step is not (or no longer) running, so no session can be opened: e.g. a container that already ended. */
export class StepNotRunningError extends CliError {}

const ATTEMPTS = 3;

/** crane streams over websocket only; `spdy` (the reference CLI's default) is named in the error. */
export const transportFlag = Flags.string({ description: "Stream transport (websocket)", options: ["ws", "spdy"], default: "ws" });

export function checkTransport(transport: string): void {
  if (transport !== "ws")
    throw new CliError(`transport '${transport}' is not supported: crane streams over websocket, use --transport ws (the default)`, ExitCode.CmdArg);
}

/** The container step a session is wanted for, which must be running (any user's: ctld decides who may). */
export async function findRunningContainer(
  ctld: CtldConnection,
  jobId: number,
  stepId: number,
  verb: "attach to" | "exec into",
): Promise<{ step: StepInfo; meta: ContainerMeta }> {
  const [job] = await queryContainerJobs(ctld, { all: false, jobIds: [jobId], mineOnly: false });
  const step = job?.steps.find((s) => s.stepId === stepId);
  // A job still waiting to be scheduled has no steps yet: say so, and why, rather than "not found".
  if (job && !step && job.status === JobStatus.Pending) {
    const why = job.pendingReason ? ` (${job.pendingReason})` : "";
    throw new CliError(`Cannot ${verb} container ${jobId}.${stepId}: its job is still pending${why}; try again once it runs`, ExitCode.CmdArg);
  }
  const found = job && step ? { job, step } : undefined;
  const meta = found?.step.containerMeta;
  if (!found || !meta) throw new CliError(`container ${jobId}.${stepId} not found`, ExitCode.Backend);
  if (found.step.status !== JobStatus.Running) {
    throw new CliError(`Cannot ${verb} container ${jobId}.${stepId} in state: ${JobStatus[found.step.status]}`, ExitCode.CmdArg);
  }
  return { step: found.step, meta };
}

/** `ccon attach/exec --json`: ctld's answer (with the session URL) instead of a session. */
export interface SessionReplyJson {
  ok: boolean;
  code: string;
  reason: string;
  url: string;
  node: string;
}

export async function sessionReply(ctld: CtldConnection, req: StreamRequest): Promise<SessionReplyJson> {
  const r = await ctld.call("openStepStream", req, req.attach ? "Failed to attach to container job" : "Failed to exec into container job");
  return { ok: r.ok, code: errCodeName(r.code), reason: r.reason, url: r.url, node: r.node };
}

export async function openContainerSession(ctld: CtldConnection, req: StreamRequest): Promise<SessionEnd> {
  const what = req.attach ? "attach to" : "exec into";
  let lastError = "";
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    // Every attempt asks for a new URL: the runtime's URLs (and craned's tickets) are single-use.
    const r = await ctld.call("openStepStream", req, `Failed to ${what} container job`);
    if (!r.ok) {
      const message = `${req.attach ? "Attach" : "Exec"} failed: ${r.reason}`;
      const notRunning = r.code === ErrCode.ERR_CRI_CONTAINER_NOT_READY || r.code === ErrCode.ERR_INVALID_JOB_ID;
      throw notRunning ? new StepNotRunningError(message, ExitCode.Backend) : new CliError(message, ExitCode.Backend);
    }
    let ws;
    try {
      ws = await connectStream(r.url);
    } catch (e) {
      lastError = (e as Error).message;
      if (attempt < ATTEMPTS) {
        process.stderr.write(`Warning: Stream attempt ${attempt} failed: ${lastError}\n`);
        await new Promise((resolve) => setTimeout(resolve, attempt * 1000));
      }
      continue;
    }
    const stopOnSignal = exitOnSignal(req.jobId, req.stepId);
    try {
      return await runSession(ws, {
        stdin: req.stdin,
        tty: req.tty,
        detachable: shouldEnableDetach(req.stdin, req.tty, Boolean(process.stdin.isTTY)),
        input: process.stdin,
        output: process.stdout,
        errorOutput: process.stderr,
      });
    } finally {
      stopOnSignal();
    }
  }
  throw new CliError(streamLost(`stream failed after ${ATTEMPTS} attempts, last error: ${lastError}`), ExitCode.Backend);
}

export function streamLost(detail: string): string {
  return `Stream connection lost. Please check container status with 'ccon ps' or reattach with 'ccon attach': ${detail}`;
}

export function printDetached(jobId: number, stepId: number): void {
  process.stderr.write(`\nDetached from container ${jobId}.${stepId}. The container is still running; re-attach with: ccon attach ${jobId}.${stepId}\n`);
}

/**
 * Exit code after an attach session ended: the container's, once ctld knows it ended; 0 when it is still running
 * (its output stream closed, or the connection was cut by the user).
 */
export async function exitCodeAfterAttach(ctld: CtldConnection, jobId: number, stepId: number, end: SessionEnd): Promise<number> {
  if (end.detached) {
    printDetached(jobId, stepId);
    return 0;
  }
  if (end.failure) throw new CliError(streamLost(end.failure), ExitCode.Backend);
  // The stream closes when the container exits; its supervisor reports the exit code a moment later.
  const deadline = Date.now() + 10_000;
  for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 1.5, 500)) {
    const { step } = await queryStep(ctld, jobId, stepId);
    if (!step) return 0;
    if (isTerminal(step.status)) return containerExitCode(jobId, stepId, stepEnd(step));
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return 0;
}

/** ccon's exit code for a container that ended: its own, or (when it has none) an error saying how it ended. */
export function containerExitCode(jobId: number, stepId: number, end: StepEnd): number {
  if (end.failed && end.exitCode === 0) {
    throw new CliError(`container ${jobId}.${stepId} ${end.statusName}${end.reason ? `: ${end.reason}` : ""}`, ExitCode.Backend);
  }
  return end.exitCode < 256 ? end.exitCode : ExitCode.Backend;
}

/** While a session runs, SIGINT/SIGTERM/SIGHUP end ccon (not the step); the terminal is restored on exit. */
function exitOnSignal(jobId: number, stepId: number): () => void {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const handler = (signal: NodeJS.Signals) => {
    process.stderr.write(
      `\nReceived signal ${signal} when attaching to container (Job ID: ${jobId}, Step ID: ${stepId}), exiting...\n(Note: Step is not cancelled.)\n`,
    );
    process.exit(0);
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
