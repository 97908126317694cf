// Who calls ctld's public service. The uid comes from the kernel or from MUNGE, never from the request:
//   AuthType local: the kernel's owner of the caller's socket (identity.ts), so only processes of ctld's own host
//     (and network namespace) are served; everything else is refused, which is what a one-host cluster needs.
//   AuthType munge: a MUNGE credential minted by the caller's local munged (which asked the kernel who the caller
//     is) and decoded by ctld's own munged, which refuses replays and expired credentials.
// The primary group and the user name then come from the name service for that uid.
import * as grpc from "@grpc/grpc-js";
import { MUNGE_CREDENTIAL_HEADER, MUNGE_ERROR_HEADER, MUNGE_PAYLOAD, mungeCallMetadata } from "./call-credential";
import { mungeDecode, MungeError } from "./munge";
import { parsePeer, socketOwnerUid, userByUid } from "../identity";

export type AuthType = "local" | "munge";

export interface Caller {
  uid: number;
  gid: number;
  /** The account name, or the uid as text for root without an entry. */
  name: string;
}

export interface AuthOptions {
  type: AuthType;
  /** The port ctld's public service listens on (for the kernel lookup of local callers). */
  serverPort: number;
  mungeSocket: string;
}

type AnyCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, "getPeer" | "metadata">;

function refuse(message: string): never {
  throw Object.assign(new Error(message), { code: grpc.status.UNAUTHENTICATED });
}

export async function authenticateCaller(call: AnyCall, opts: AuthOptions): Promise<Caller> {
  const uid = opts.type === "munge" ? await mungeUid(call, opts.mungeSocket) : localUid(call, opts.serverPort);
  const user = userByUid(uid);
  if (!user) {
    if (uid === 0) return { uid: 0, gid: 0, name: "root" };
    refuse(
      `uid ${uid} has no account on the control machine (getent passwd ${uid} finds nothing): crane takes the user's name and groups from the name service`,
    );
  }
  return { uid, gid: user.gid, name: user.name };
}

/**
 * The HTTP/2 session (one TCP connection) a call came on, found through grpc-js' call objects, or undefined when
 * their shape is not the expected one. All calls of one session come from the socket that opened it.
 */
export function sessionOf(call: AnyCall): object | undefined {
  let inner: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 8 && inner && typeof inner === "object"; depth++) {
    const session = (inner as { stream?: { session?: unknown } }).stream?.session;
    if (session && typeof session === "object") return session;
    inner = (inner as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

// The kernel's socket table costs a few ms to read; its answer holds for the connection's whole life, so it is kept
// per connection (never per address and port, which another user could take over once the connection closed).
const ownerBySession = new WeakMap<object, number>();

function localUid(call: AnyCall, serverPort: number): number {
  const session = sessionOf(call);
  const known = session && ownerBySession.get(session);
  if (known !== undefined) return known;
  const uid = lookUpLocalUid(call, serverPort);
  if (session) ownerBySession.set(session, uid);
  return uid;
}

function lookUpLocalUid(call: AnyCall, serverPort: number): number {
  const peer = parsePeer(call.getPeer());
  const owner = peer && socketOwnerUid({ peerAddress: peer.address, peerPort: peer.port, serverPort });
  if (owner === undefined) {
    refuse(
      `cannot verify who is calling from ${call.getPeer()}: with AuthType local, ctld serves only processes of its own host; ` +
        "on a cluster of several hosts, run munged everywhere and set AuthType: munge",
    );
  }
  return owner;
}

async function mungeUid(call: AnyCall, socket: string): Promise<number> {
  const cred = call.metadata.get(MUNGE_CREDENTIAL_HEADER)[0];
  if (typeof cred !== "string" || !cred) {
    const why = call.metadata.get(MUNGE_ERROR_HEADER)[0];
    refuse(
      `the request carries no MUNGE credential (AuthType is munge${why ? `; the client could not get one: ${String(why)}` : ": is munged running on the calling host?"})`,
    );
  }
  try {
    const decoded = await mungeDecode(cred, { socketPath: socket });
    if (!decoded.payload.equals(MUNGE_PAYLOAD)) refuse("the MUNGE credential was not made for a crane call");
    return decoded.uid;
  } catch (e) {
    if (e instanceof MungeError) refuse(`MUNGE credential refused: ${e.message}`);
    throw e;
  }
}

/** Adds a fresh MUNGE credential of this process to every call (client side of AuthType munge, for grpc-js). */
export function mungeCredentialInterceptor(socket: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        void mungeCallMetadata(socket).then((headers) => {
          for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
          next(metadata, listener);
        });
      },
    });
}
