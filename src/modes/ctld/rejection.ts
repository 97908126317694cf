// A request ctld refuses: an ErrCode from the proto and a message for the user (answered in the reply, not as a
// gRPC error). Its own file so that the pure checks (limits.ts) and the JobManager can both throw it without
// importing each other.
import type { ErrCode } from "../../core/generated/crane/crane";

export class Rejection extends Error {
  constructor(
    readonly code: ErrCode,
    message: string,
  ) {
    super(message);
  }
}
