// gRPC status codes and what user commands print for them, without loading a gRPC library: the codes are part of
// the gRPC protocol, the same numbers grpc-js' `status` has. Errors from grpc-js and from unary-client.ts both carry
// `code` and `details`.

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

export function grpcStatusName(code: number): string {
  return NAMES[code] ?? String(code);
}

/** A failed call, as grpc-js' ServiceError has it. */
export interface RpcFailure {
  code: number;
  details: string;
}

export function isUnavailable(err: unknown): boolean {
  const code = (err as Partial<RpcFailure>)?.code;
  return code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED;
}

/** The text the user commands print for a transport failure, per the CLI conventions. */
export function grpcErrorSuffix(err: unknown): string {
  const e = err as Partial<RpcFailure> | undefined;
  switch (e?.code) {
    case GrpcStatus.UNAVAILABLE:
      return "Connection to CraneCtld is broken.";
    case GrpcStatus.UNAUTHENTICATED:
      return "Access denied.";
    case GrpcStatus.DEADLINE_EXCEEDED:
      return "Request timeout, please try again or reduce the query scope.";
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return "Response too large, please reduce the query scope.";
    default:
      return typeof e?.code === "number" ? `gRPC error code ${grpcStatusName(e.code)}: ${e.details}` : String((err as Error)?.message ?? err);
  }
}
