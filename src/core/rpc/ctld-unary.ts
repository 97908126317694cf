// The unary methods of ctld's public service (services.proto, CraneCtld) for unary-client.ts: its path and message
// types. test/unit/rpc/ctld-unary.test.ts checks this table against the generated service definition.
import {
  CancelJobReply,
  CancelJobRequest,
  ModifyJobReply,
  ModifyJobRequest,
  ModifyNodeReply,
  ModifyNodeRequest,
  QueryClusterReply,
  QueryClusterRequest,
  QueryJobHistoryReply,
  QueryJobHistoryRequest,
  QueryJobsReply,
  QueryJobsRequest,
  StreamReply,
  StreamRequest,
  SubmitJobReply,
  SubmitJobRequest,
  SubmitJobsReply,
  SubmitJobsRequest,
  SubmitStepReply,
  SubmitStepRequest,
  type MessageFns,
} from "../generated/crane/crane";
import type { UnaryMethod } from "./unary-client";

export interface CtldUnaryMethod<Req, Res> extends UnaryMethod<Req, Res> {
  request: MessageFns<Req>;
  reply: MessageFns<Res>;
}

function method<Req, Res>(name: string, request: MessageFns<Req>, reply: MessageFns<Res>): CtldUnaryMethod<Req, Res> {
  return {
    path: `/crane.grpc.CraneCtld/${name}`,
    request,
    reply,
    encode: (r) => request.encode(r).finish(),
    decode: (bytes) => reply.decode(bytes),
  };
}

export const CTLD_UNARY = {
  submitBatchJob: method("SubmitBatchJob", SubmitJobRequest, SubmitJobReply),
  submitBatchJobs: method("SubmitBatchJobs", SubmitJobsRequest, SubmitJobsReply),
  submitStep: method("SubmitStep", SubmitStepRequest, SubmitStepReply),
  queryJobsInfo: method("QueryJobsInfo", QueryJobsRequest, QueryJobsReply),
  cancelJob: method("CancelJob", CancelJobRequest, CancelJobReply),
  queryClusterInfo: method("QueryClusterInfo", QueryClusterRequest, QueryClusterReply),
  openStepStream: method("OpenStepStream", StreamRequest, StreamReply),
  queryJobHistory: method("QueryJobHistory", QueryJobHistoryRequest, QueryJobHistoryReply),
  modifyJob: method("ModifyJob", ModifyJobRequest, ModifyJobReply),
  modifyNode: method("ModifyNode", ModifyNodeRequest, ModifyNodeReply),
};

export type CtldUnaryName = keyof typeof CTLD_UNARY;
export type CtldRequest<K extends CtldUnaryName> = Parameters<(typeof CTLD_UNARY)[K]["encode"]>[0];
export type CtldReply<K extends CtldUnaryName> = ReturnType<(typeof CTLD_UNARY)[K]["decode"]>;
