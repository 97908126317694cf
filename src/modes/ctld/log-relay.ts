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
  const results = await Promise.all(
    nodes.map(
      (node) =>
        new Promise<string>((resolve) => {
          const entry = jm.nodes.get(node);
          if (!entry?.client || !entry.up) return resolve(`node ${node} is not reachable`);
          // Dispatched there and not ended: the node may not have the launch yet and must wait for it.
          const there = current()?.perNode[node];
          const awaitStepMs = req.follow && there && !isTerminal(there.status) ? DISPATCH_WAIT_MS : 0;
          const up = jm.nodeClient.readLog(node, { ...req, node, awaitStepMs });
          upstreams.push(up);
          up.on("data", (chunk: StepLogChunk) => {
            if (!chunk.lines.length) return;
            for (const line of chunk.lines) line.node = node;
            // A client slower than the nodes pauses the nodes' streams: ctld holds a few messages per node.
            if (!call.write(chunk)) {
              up.pause();
              call.once("drain", () => up.resume());
            }
          });
          up.on("error", (e: grpc.ServiceError) => resolve(e.code === grpcStatus.CANCELLED ? "" : e.details || e.message));
          up.on("end", () => resolve(""));
        }),
    ),
  );
  const errors = results.filter(Boolean);
  if (errors.length === nodes.length && errors.length > 0) {
    failStream(call, grpcError(grpcStatus.UNAVAILABLE, errors.join("; ")));
    return;
  }
  if (req.follow) {
    // The node closed its stream because the step ended; wait until ctld has recorded the outcome.
    await waitWhileCallOpen(
      call,
      () => {
        const step = current();
        return !step || isTerminal(step.status);
      },
      10_000,
    );
  }
  const job = jm.findJob(req.jobId);
  const step = job && findStep(job, req.stepId);
  if (errors.length) log.warn(`log stream of ${req.jobId}.${req.stepId}: ${errors.join("; ")}`);
  call.write({ lines: [], eof: true, exitCode: step?.exitCode ?? 0, status: step?.status ?? JobStatus.Invalid });
  call.end();
}
