// Client-side helpers for commands that wait on a step and stream its output (crun, ccon run, ccon logs).
import { JobStatus, type StepInfo, type StepLogChunk } from "../generated/crane/crane";
import { isTerminal } from "../job-state";
import { grpcErrorSuffix } from "../rpc";
import type { CtldConnection } from "./ctld";
import { CliError, ExitCode } from "./errors";

/** CRANE_JOB_ID from the environment (a step of that job is wanted), or undefined. */
export function jobIdFromEnv(command: string): number | undefined {
  const v = process.env.CRANE_JOB_ID;
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    throw new CliError(`invalid CRANE_JOB_ID '${v}': ${command} submits a step into that job, so it must be a job id (unset it to submit a new job)`);
  }
  return n;
}

export async function queryStep(ctld: CtldConnection, jobId: number, stepId: number, includeCompleted = true) {
  const r = await ctld.call(
    ctld.client.queryJobsInfo,
    {
      jobIds: [{ jobId, stepIds: [stepId] }],
      states: [],
      users: [],
      partitions: [],
      names: [],
      types: [],
      includeCompleted,
      limit: 1,
      nodes: [],
    },
    "Failed to query the job",
  );
  const job = r.jobs.find((j) => j.jobId === jobId);
  return { job, step: job?.steps.find((s) => s.stepId === stepId) };
}

export interface StepEnd {
  exitCode: number;
  status: JobStatus;
  statusName: string;
  failed: boolean;
  reason: string;
}

const NEWLINE = Buffer.from("\n");

/**
 * Streams a step's output (stdout to stdout, stderr to stderr) until it ends; returns how it ended.
 * The whole output is shown even when the step finished before we connected.
 */
export async function followStep(
  ctld: CtldConnection,
  opts: { jobId: number; stepId: number; node: string; tail: number; follow?: boolean; timestamps?: boolean; sinceMs?: number; untilMs?: number },
): Promise<StepEnd> {
  const stream = ctld.client.streamStepLog({
    jobId: opts.jobId,
    stepId: opts.stepId,
    node: opts.node,
    follow: opts.follow ?? true,
    tail: opts.tail,
    sinceMs: opts.sinceMs ?? 0,
    untilMs: opts.untilMs ?? 0,
    awaitStepMs: 0,
  });
  let eof: StepLogChunk | undefined;
  await new Promise<void>((resolve, reject) => {
    stream.on("data", (chunk: StepLogChunk) => {
      // One write per run of lines of the same stream (not three per line); a reader slower than ctld pauses it.
      let pieces: Uint8Array[] = [];
      let current: NodeJS.WriteStream | undefined;
      let blocked: NodeJS.WriteStream | undefined;
      const flush = () => {
        if (current && pieces.length && !current.write(Buffer.concat(pieces))) blocked = current;
        pieces = [];
      };
      for (const l of chunk.lines) {
        const out = l.stream === "stderr" ? process.stderr : process.stdout;
        if (out !== current) flush();
        current = out;
        if (opts.timestamps) pieces.push(Buffer.from(`${l.time} `));
        pieces.push(l.data);
        if (!l.partial) pieces.push(NEWLINE);
      }
      flush();
      if (blocked) {
        stream.pause();
        blocked.once("drain", () => stream.resume());
      }
      if (chunk.eof) eof = chunk;
    });
    stream.on("error", (e) => reject(new CliError(`Failed to read the output of ${opts.jobId}.${opts.stepId}: ${grpcErrorSuffix(e)}`, ExitCode.Backend)));
    stream.on("end", () => resolve());
  });
  const { step } = await queryStep(ctld, opts.jobId, opts.stepId);
  return stepEnd(step, eof);
}

/** How a step ended, from ctld's record of it, else from the node's last log message. */
export function stepEnd(step: StepInfo | undefined, eof?: StepLogChunk): StepEnd {
  const status = step?.status ?? eof?.status ?? JobStatus.Invalid;
  return {
    exitCode: step?.exitCode ?? eof?.exitCode ?? 0,
    status,
    statusName: JobStatus[status] ?? "unknown",
    failed: status !== JobStatus.Completed && isTerminal(status),
    reason: step?.reason ?? "",
  };
}
