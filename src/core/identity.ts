// Who is calling: every RPC from a user command carries the caller's uid/gid in its metadata, and the
// daemons read it here and nowhere else. A caller on ctld's own host is checked against the kernel's record of
// who owns its end of the connection (socketOwnerUid); from other hosts the uid is trusted as sent, as CraneSched
// does without TLS.
import fs from "node:fs";
import os from "node:os";
import { Metadata, type ServerUnaryCall, type ServerWritableStream } from "@grpc/grpc-js";

export interface Identity {
  uid: number;
  gid: number;
}

const UID_KEY = "x-crane-uid";
const GID_KEY = "x-crane-gid";

export function currentIdentity(): Identity {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

export function identityMetadata(id: Identity = currentIdentity()): Metadata {
  const md = new Metadata();
  md.set(UID_KEY, String(id.uid));
  md.set(GID_KEY, String(id.gid));
  return md;
}

/** The caller of an RPC, or undefined when the request carries no (valid) identity. */
export function callerOf(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): Identity | undefined {
  const uid = Number(call.metadata.get(UID_KEY)[0]);
  const gid = Number(call.metadata.get(GID_KEY)[0]);
  if (!Number.isInteger(uid) || uid < 0 || !Number.isInteger(gid) || gid < 0) return undefined;
  return { uid, gid };
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

let passwdCache: { at: number; byUid: Map<number, PasswdEntry>; byName: Map<string, PasswdEntry> } | undefined;

function passwd() {
  if (passwdCache && Date.now() - passwdCache.at < 5000) return passwdCache;
  const byUid = new Map<number, PasswdEntry>();
  const byName = new Map<string, PasswdEntry>();
  try {
    for (const line of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":");
      if (f.length < 7) continue;
      const e = { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
      if (!byUid.has(e.uid)) byUid.set(e.uid, e);
      byName.set(e.name, e);
    }
  } catch {
    // no passwd file: every uid shows as its number
  }
  passwdCache = { at: Date.now(), byUid, byName };
  return passwdCache;
}

export function userByUid(uid: number): PasswdEntry | undefined {
  return passwd().byUid.get(uid);
}

export function userByName(name: string): PasswdEntry | undefined {
  return passwd().byName.get(name);
}

/** The user name of a uid, or the number as text when the uid has no passwd entry. */
export function usernameOf(uid: number): string {
  return userByUid(uid)?.name ?? String(uid);
}

export function currentUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return usernameOf(currentIdentity().uid);
  }
}

/**
 * The uid owning the client end of a TCP connection made from this host to `serverPort`, read from the kernel's
 * socket tables; undefined when the peer is not a socket of this host. `peer` is grpc's "host:port" form.
 */
export function socketOwnerUid(peer: string, serverPort: number, tables = ["/proc/net/tcp", "/proc/net/tcp6"]): number | undefined {
  const m = /^(?:ipv[46]:)?\[?([0-9A-Fa-f:.]+?)\]?:(\d+)$/.exec(peer);
  if (!m) return undefined;
  const peerIpv4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(m[1]!)?.[1];
  const peerPort = Number(m[2]);
  for (const table of tables) {
    let text: string;
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8) continue;
      const [localAddr, localPort] = f[1]!.split(":");
      const remotePort = f[2]!.split(":")[1];
      if (parseInt(localPort!, 16) !== peerPort || parseInt(remotePort!, 16) !== serverPort) continue;
      if (peerIpv4 && localAddr!.length === 8 && ipv4FromProc(localAddr!) !== peerIpv4) continue;
      return Number(f[7]);
    }
  }
  return undefined;
}

/** /proc/net/tcp writes an IPv4 address as the hex of its 32 bits in host (little-endian) order. */
function ipv4FromProc(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
}
