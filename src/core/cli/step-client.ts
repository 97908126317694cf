// Client-side helpers for commands that wait on a step and stream its output (crun, ccon run, ccon logs).
import type * as grpc from "@grpc/grpc-js";
import { JobStatus, type StepInfo, type StepLogChunk } from "../generated/crane/crane";
import { isTerminal } from "../job-state";
import { GrpcStatus as grpcStatus, grpcErrorSuffix } from "../rpc/status";
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
    "queryJobsInfo",
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

/** Errors after which following a step cannot succeed by trying again. */
const FINAL_CODES = new Set<number>([grpcStatus.NOT_FOUND, grpcStatus.PERMISSION_DENIED, grpcStatus.INVALID_ARGUMENT, grpcStatus.UNAUTHENTICATED]);
/** How long a follow keeps reconnecting to a ctld (or through it to a node) that stopped answering. */
const RECONNECT_FOR_MS = 5 * 60_000;
/** After this long without ctld, the user is told that the command still waits. */
const SAY_WAITING_AFTER_MS = 10_000;

interface FollowOptions {
  jobId: number;
  stepId: number;
  node: string;
  tail: number;
  follow?: boolean;
  timestamps?: boolean;
  sinceMs?: number;
  untilMs?: number;
}

/**
 * Streams a step's output (stdout to stdout, stderr to stderr) until it ends; returns how it ended.
 * The whole output is shown even when the step finished before we connected. A follow whose stream breaks (ctld
 * restarted, say) connects again and reads on from where each node's output stopped: nothing is shown twice.
 */
export async function followStep(ctld: CtldConnection, opts: FollowOptions): Promise<StepEnd> {
  const cursors: Record<string, string> = {};
  let eof: StepLogChunk | undefined;
  let brokeAt: number | undefined;
  let toldWaiting = false;
  for (let attempt = 0; ; attempt++) {
    const failure = await readStepLog(ctld, opts, cursors, (chunk) => {
      brokeAt = undefined;
      attempt = 0;
      if (chunk.eof) eof = chunk;
    });
    if (eof) break;
    // No end message: the stream broke. Try again unless it cannot help or it has been too long.
    const code = failure?.code ?? grpcStatus.UNAVAILABLE;
    if (opts.follow === false || FINAL_CODES.has(code)) throw streamError(opts, failure);
    brokeAt ??= performance.now();
    const waited = performance.now() - brokeAt;
    if (waited > RECONNECT_FOR_MS) throw streamError(opts, failure);
    if (waited > SAY_WAITING_AFTER_MS && !toldWaiting) {
      toldWaiting = true;
      process.stderr.write(
        `waiting for ctld to answer again (${failure ? grpcErrorSuffix(failure) : "the stream ended early"}); the output resumes where it stopped\n`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
  }
  const { step } = await queryStep(ctld, opts.jobId, opts.stepId).catch(() => ({ step: undefined }));
  return stepEnd(step, eof);
}

function streamError(opts: FollowOptions, failure: grpc.ServiceError | undefined): CliError {
  const why = failure ? grpcErrorSuffix(failure) : "the stream ended before the step did";
  return new CliError(`Failed to read the output of ${opts.jobId}.${opts.stepId}: ${why}`, ExitCode.Backend);
}

/** One stream of the step's log, from the cursors on; resolves when it ends, with the error if it failed. */
async function readStepLog(
  ctld: CtldConnection,
  opts: FollowOptions,
  cursors: Record<string, string>,
  onChunk: (chunk: StepLogChunk) => void,
): Promise<grpc.ServiceError | undefined> {
  const stream = (await ctld.streams()).streamStepLog({
    jobId: opts.jobId,
    stepId: opts.stepId,
    node: opts.node,
    follow: opts.follow ?? true,
    tail: opts.tail,
    sinceMs: opts.sinceMs ?? 0,
    untilMs: opts.untilMs ?? 0,
    awaitStepMs: 0,
    resumeCursors: cursors,
  });
  return new Promise((resolve) => {
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
      const node = chunk.lines[0]?.node;
      if (chunk.cursor && node) cursors[node] = chunk.cursor;
      if (blocked) {
        stream.pause();
        blocked.once("drain", () => stream.resume());
      }
      onChunk(chunk);
    });
    stream.on("error", (e: grpc.ServiceError) => resolve(e));
    stream.on("end", () => resolve(undefined));
  });
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
