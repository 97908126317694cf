// The client side of AuthType munge, without a gRPC library: the metadata a user command's call to ctld carries
// (caller.ts checks it on ctld's side).
import { mungeEncode } from "./munge";

export const MUNGE_CREDENTIAL_HEADER = "x-crane-munge";
/** Why the client could not get a credential, so that ctld's refusal can name the cause. */
export const MUNGE_ERROR_HEADER = "x-crane-munge-error";
/** What a crane credential carries, so that one minted for something else is not taken for a crane call. */
export const MUNGE_PAYLOAD = Buffer.from("crane-ctld-call");

/** A fresh MUNGE credential of this process as call metadata, or the reason there is none. */
export async function mungeCallMetadata(socket: string): Promise<Record<string, string>> {
  try {
    return { [MUNGE_CREDENTIAL_HEADER]: await mungeEncode({ socketPath: socket, payload: MUNGE_PAYLOAD }) };
  } catch (e) {
    // No credential: the call goes without one and ctld answers UNAUTHENTICATED naming the cause.
    return { [MUNGE_ERROR_HEADER]: String((e as Error)?.message ?? e).replace(/[^\x20-\x7e]/g, "?") };
  }
}
