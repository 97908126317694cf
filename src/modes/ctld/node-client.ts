// The only place ctld calls craneds: each call with its deadline, to the address the config gives for the node and
// with that node's key (the NodeRegistry's clients). A node that is unknown or has no client yet is refused here.
import type { NodeStreamReply, StepLogRequest, StepToD, StreamRequest, TerminateStepReply, TerminateStepRequest } from "../../core/generated/crane/crane";
import { unary } from "../../core/rpc";
import { GrpcStatus, type RpcFailure } from "../../core/rpc/status";
import type { NodeRegistry } from "./nodes";

const CALL_TIMEOUT_MS = 10_000;
/** FreeJob waits on the node for the job's steps to stop (up to their grace periods): give it time. */
const FREE_JOB_TIMEOUT_MS = 120_000;
/** OpenStepStream may wait for a container that is starting. */
const OPEN_STREAM_TIMEOUT_MS = 180_000;

/** A node's refusal of a step; `nodeUnfit` when the node could start no step now (see ExecuteStepReply). */
export class LaunchRefused extends Error {
  constructor(
    reason: string,
    readonly nodeUnfit: boolean,
  ) {
    super(reason);
  }
}

export class NodeClient {
  constructor(private readonly nodes: NodeRegistry) {}

  private clientOf(node: string) {
    const client = this.nodes.get(node)?.client;
    if (!client) throw new Error(`node ${node} is not available`);
    return client;
  }

  /**
   * Starts a step there; rejects with the node's reason when it refused (a LaunchRefused). A node that cannot be
   * reached (its craned restarting before ctld noticed it was gone) is unfit too: the step never got there, so a job
   * of which nothing ran yet goes back to the queue instead of failing.
   */
  async execute(node: string, step: StepToD): Promise<void> {
    const c = this.clientOf(node);
    const reply = await unary(c, c.executeStep, { step }, CALL_TIMEOUT_MS).catch((e: RpcFailure) => {
      throw e.code === GrpcStatus.UNAVAILABLE ? new LaunchRefused(`node ${node} is unreachable: ${e.details}`, true) : e;
    });
    if (!reply.ok) throw new LaunchRefused(reply.reason, reply.nodeUnfit);
  }

  async terminate(node: string, req: TerminateStepRequest): Promise<TerminateStepReply> {
    const c = this.clientOf(node);
    return unary(c, c.terminateStep, req, CALL_TIMEOUT_MS);
  }

  /** Stops what is left of the job there and frees its resources; true once the node says so. */
  async free(node: string, jobId: number): Promise<boolean> {
    const c = this.clientOf(node);
    return (await unary(c, c.freeJob, { jobId }, FREE_JOB_TIMEOUT_MS)).ok;
  }

  async openStream(node: string, req: StreamRequest): Promise<NodeStreamReply> {
    const c = this.clientOf(node);
    return unary(c, c.openStepStream, req, OPEN_STREAM_TIMEOUT_MS);
  }

  /** The step's log there, as a stream of chunks (no deadline: a follower stays as long as the step runs). */
  readLog(node: string, req: StepLogRequest) {
    return this.clientOf(node).readStepLog(req);
  }
}
