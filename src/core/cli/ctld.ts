// How user commands reach ctld: config lookup, one client, and the error conventions
// (transport failure -> exit 3 with "<context>: <reason>", backend refusal -> exit 4).
import { mungeCallMetadata } from "../auth/call-credential";
import { ConfigError, loadConfig, type CraneConfig } from "../config";
import type { CraneCtldClient } from "../generated/crane/services";
import { ErrCode } from "../generated/crane/crane";
import { CTLD_UNARY, type CtldReply, type CtldRequest, type CtldUnaryName } from "../rpc/ctld-unary";
import { grpcErrorSuffix } from "../rpc/status";
import { UnaryClient, type UnaryMethod } from "../rpc/unary-client";
import { CliError, ExitCode } from "./errors";

export interface CtldConnection {
  config: CraneConfig;
  /** Calls a unary method of CraneCtld; a transport error becomes CliError(`<context>: <reason>`, 3). */
  call<K extends CtldUnaryName>(method: K, req: CtldRequest<K>, context: string, timeoutMs?: number): Promise<CtldReply<K>>;
  /** The grpc-js client, for the streaming methods: loaded and connected on first use (unary calls do without it). */
  streams(): Promise<CraneCtldClient>;
  close(): void;
}

export function loadCliConfig(configFlag?: string): CraneConfig {
  try {
    return loadConfig(configFlag || undefined);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, ExitCode.CmdArg);
    throw e;
  }
}

export function connectCtld(configFlag?: string): CtldConnection {
  const config = loadCliConfig(configFlag);
  const host = process.env.CRANE_CTLD_HOST || config.controlMachine;
  const auth = { type: config.authType, mungeSocket: config.mungeSocket };
  const unary = new UnaryClient(host, config.ctldPort, auth.type === "munge" ? () => mungeCallMetadata(auth.mungeSocket) : undefined);
  let streaming: CraneCtldClient | undefined;
  return {
    config,
    async call(method, req, context, timeoutMs = 30_000) {
      try {
        return (await unary.call(CTLD_UNARY[method] as UnaryMethod<unknown, unknown>, req, timeoutMs)) as CtldReply<typeof method>;
      } catch (e) {
        throw new CliError(`${context}: ${grpcErrorSuffix(e)}`, ExitCode.Network);
      }
    },
    async streams() {
      const { ctldClient } = await import("../rpc/index.js");
      streaming ??= ctldClient(host, config.ctldPort, auth);
      return streaming;
    },
    close: () => {
      unary.close();
      streaming?.close();
    },
  };
}

const MESSAGES: Partial<Record<ErrCode, string>> = {
  [ErrCode.ERR_INVALID_UID]: "The user does not exist",
  [ErrCode.ERR_INVALID_PARTITION]: "The entered partition does not exist",
  [ErrCode.ERR_INVALID_NODE_NUM]: "Invalid number of nodes",
  [ErrCode.ERR_NO_RESOURCE]: "No node in the partition can ever satisfy the request",
  [ErrCode.ERR_NON_EXISTENT]: "The object does not exist",
  [ErrCode.ERR_INVALID_PARAM]: "Invalid Parameter",
  [ErrCode.ERR_PERMISSION_DENIED]: "Permission denied",
  [ErrCode.ERR_PERMISSION_USER]: "Insufficient permission",
  [ErrCode.ERR_INVALID_NODE_LIST]: "Invalid node list",
  [ErrCode.ERR_INVALID_EX_NODE_LIST]: "Invalid excluded node list",
  [ErrCode.ERR_TIME_LIMIT_BEYOND]: "The time limit exceeds what the partition allows",
  [ErrCode.ERR_NO_ENOUGH_NODE]: "Not enough nodes satisfy the requirements",
  [ErrCode.ERR_INVALID_JOB_ID]: "The job does not exist or is not running",
  [ErrCode.ERR_INVALID_RESOURCE]: "Invalid resource request",
  [ErrCode.ERR_STEP_RES_BEYOND]: "Step resource request exceeds the job's requested resources",
  [ErrCode.ERR_RPC_FAILURE]: "RPC to a node failed",
  [ErrCode.ERR_GENERIC_FAILURE]: "Generic failure",
  [ErrCode.ERR_CRI_DISABLED]: "CRI support is disabled in the cluster.",
  [ErrCode.ERR_CRI_GENERIC]: "Container runtime error",
  [ErrCode.ERR_CRI_CONTAINER_NOT_READY]: "Job is pending or container is not ready.",
  [ErrCode.ERR_CRI_MULTIPLE_NODES]: "The container runs on several nodes; choose one with --target-node",
  [ErrCode.ERR_JOB_NOT_CONTAINER]: "The job is not a container job",
};

/** The message for a backend error code; the detailed reason, when there is one, is appended. */
export function errMessage(code: ErrCode, reason = ""): string {
  const base = MESSAGES[code] ?? `Unknown error occurred: ${ErrCode[code] ?? code}`;
  return reason && reason !== base ? `${base}: ${reason}` : base;
}
