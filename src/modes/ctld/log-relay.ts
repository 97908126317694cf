// A step's log, relayed by ctld: the log streams of the step's nodes merged into one for the client, with
// backpressure, then closed with the step's exit code once ctld has recorded it.
import type * as grpc from "@grpc/grpc-js";
import { status as grpcStatus } from "@grpc/grpc-js";
import { JobStatus, type StepLogChunk, type StepLogRequest } from "../../core/generated/crane/crane";
import { isTerminal } from "../../core/job-state";
import type { Logger } from "../../core/log";
import { waitWhileCallOpen } from "../../core/rpc";
import type { JobManager } from "./job-manager";
import { findStep } from "./records";

/**
 * Ends a server stream with an error status. (destroy() would drop the call without a status: the client waits
 * forever.)
 */
export function failStream(call: grpc.ServerWritableStream<unknown, unknown>, error: Error): void {
  call.emit("error", error);
}

export function grpcError(code: grpcStatus, details: string): Error {
  return Object.assign(new Error(details), { code, details });
}

/** How long a node waits for a dispatched step to arrive before a follow of its log ends (> the launch RPC timeout). */
const DISPATCH_WAIT_MS = 15_000;
/** How long a follow keeps trying a node whose log stream broke before it gives up on that node's output. */
const NODE_RETRY_MS = 60_000;

/** Merges the log streams of a step's nodes into one, then closes with the step's exit code. */
export async function proxyLogs(
  jm: JobManager,
  call: grpc.ServerWritableStream<StepLogRequest, StepLogChunk>,
  nodes: string[],
  req: StepLogRequest,
  log: Logger,
): Promise<void> {
  const upstreams: grpc.ClientReadableStream<StepLogChunk>[] = [];
  call.on("cancelled", () => upstreams.forEach((u) => u.cancel()));
  // A follow of a step that is not dispatched yet (its job or pod is still starting) waits for the dispatch.
  const current = () => {
    const job = jm.findJob(req.jobId);
    return job && findStep(job, req.stepId);
  };
  if (req.follow) await waitWhileCallOpen(call, () => current()?.status !== JobStatus.Pending);
  /** Where each node's stream is to be read on from (the client's, then what the nodes sent since). */
  const cursors = { ...req.resumeCursors };
  /** One node's stream into the call; resolves with why it failed ("" when it ended normally). */
  const readNode = (node: string, client: boolean) =>
    new Promise<string>((resolve) => {
      if (!client) return resolve(`node ${node} is not reachable`);
      // Dispatched there and not ended: the node may not have the launch yet and must wait for it.
      const there = current()?.perNode[node];
      const awaitStepMs = req.follow && there && !isTerminal(there.status) ? DISPATCH_WAIT_MS : 0;
      const up = jm.nodeClient.readLog(node, { ...req, node, awaitStepMs, resumeCursors: cursors });
      upstreams.push(up);
      up.on("data", (chunk: StepLogChunk) => {
        if (!chunk.lines.length) return;
        for (const line of chunk.lines) line.node = node;
        if (chunk.cursor) cursors[node] = chunk.cursor;
        // A client slower than the nodes pauses the nodes' streams: ctld holds a few messages per node.
        if (!call.write(chunk)) {
          up.pause();
          call.once("drain", () => up.resume());
        }
      });
      up.on("error", (e: grpc.ServiceError) => resolve(e.code === grpcStatus.CANCELLED ? "" : e.details || e.message));
      up.on("end", () => resolve(""));
    });
  /**
   * A follow whose node stream broke (its craned restarted, the connection dropped) reads on from where it stopped
   * once the node answers again, for as long as the node may still come back; the step may have ended meanwhile, and
   * its last output is read all the same.
   */
  const relayNode = async (node: string): Promise<string> => {
    let brokeAt: number | undefined;
    for (let attempt = 0; ; attempt++) {
      const entry = jm.nodes.get(node);
      const error = await readNode(node, Boolean(entry?.client && entry.up));
      if (!error || !req.follow || call.cancelled) return error;
      const there = current()?.perNode[node];
      const gaveUp = !entry?.up && (!there || isTerminal(there.status));
      brokeAt ??= performance.now();
      if (gaveUp || performance.now() - brokeAt > NODE_RETRY_MS) return error;
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
    }
  };
  const results = await Promise.all(nodes.map((node) => relayNode(node)));
  const errors = results.filter(Boolean);
  // No node could be read. A follow of a step that ended still gets its end (its output is kept on the node).
  const ended = () => {
    const step = current();
    return !step || isTerminal(step.status);
  };
  if (errors.length === nodes.length && errors.length > 0 && !(req.follow && ended())) {
    failStream(call, grpcError(grpcStatus.UNAVAILABLE, errors.join("; ")));
    return;
  }
  if (req.follow) {
    // The node closed its stream because the step ended; wait until ctld has recorded the outcome.
    await waitWhileCallOpen(call, ended, 10_000);
  }
  const job = jm.findJob(req.jobId);
  const step = job && findStep(job, req.stepId);
  if (errors.length) log.warn(`log stream of ${req.jobId}.${req.stepId}: ${errors.join("; ")}`);
  call.write({ lines: [], eof: true, exitCode: step?.exitCode ?? 0, status: step?.status ?? JobStatus.Invalid, cursor: "" });
  call.end();
}
