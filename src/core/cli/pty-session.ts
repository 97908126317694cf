// crun --pty: the terminal of the step's task 0, attached through ctld and the node's stream proxy like a
// container's (the same channel protocol: stream-session.ts), until the task ends. The exit status then comes from
// ctld, as for any step, so crun ends the same way with or without a terminal.
import { isTerminal } from "../job-state";
import { StreamRequest } from "../generated/crane/crane";
import type { CtldConnection } from "./ctld";
import { CliError, ExitCode } from "./errors";
import { queryStep, stepEnd, type StepEnd } from "./step-client";
import { connectStream, runSession } from "./stream-session";

/** How long the step's end may take to reach ctld once its terminal closed. */
const END_WAIT_MS = 15_000;

export async function followTerminal(ctld: CtldConnection, jobId: number, stepId: number): Promise<StepEnd> {
  const req = StreamRequest.fromPartial({ jobId, stepId, attach: true, stdin: true, stdout: true, tty: true });
  const r = await ctld.call("openStepStream", req, "Failed to open the step's terminal");
  if (!r.ok) throw new CliError(`error: cannot open the terminal of step ${jobId}.${stepId}: ${r.reason}`, ExitCode.Backend);
  let ws;
  try {
    ws = await connectStream(r.url);
  } catch (e) {
    throw new CliError(`error: cannot reach the terminal of step ${jobId}.${stepId} on ${r.node}: ${(e as Error).message}`, ExitCode.Backend);
  }
  const end = await runSession(ws, { stdin: true, tty: true, detachable: false, input: process.stdin, output: process.stdout, errorOutput: process.stderr });
  if (!end.detached && end.failure) process.stderr.write(`\ncrun: lost the terminal of step ${jobId}.${stepId}: ${end.failure}\n`);
  const deadline = Date.now() + END_WAIT_MS;
  for (let delay = 20; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    const { step } = await queryStep(ctld, jobId, stepId);
    if (!step || isTerminal(step.status)) return stepEnd(step);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  throw new CliError(
    `error: the terminal of step ${jobId}.${stepId} closed but the step is still running; end it with: ccancel ${jobId}.${stepId}`,
    ExitCode.Backend,
  );
}
