// Who a user is on this host: names, primary group and supplementary groups come from the name service (NSS,
// through getent and id, so LDAP and SSSD users resolve as local ones do), and the owner of a local connection
// comes from the kernel's socket tables. No request field or header decides either.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";

export interface Identity {
  uid: number;
  gid: number;
}

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** A fixed environment for the root-run lookups: nothing of the caller's reaches them. */
const LOOKUP_ENV = { PATH: "/usr/bin:/bin", LC_ALL: "C" };
const FOUND_TTL_MS = 60_000;
const MISSING_TTL_MS = 5_000;

const cache = new Map<string, { at: number; value: unknown }>();

function cached<T>(key: string, compute: () => T | undefined): T | undefined {
  const hit = cache.get(key);
  const now = performance.now();
  if (hit && now - hit.at < (hit.value === undefined ? MISSING_TTL_MS : FOUND_TTL_MS)) return hit.value as T | undefined;
  const value = compute();
  if (cache.size > 50_000) cache.clear();
  cache.set(key, { at: now, value });
  return value;
}

function run(file: string, args: string[]): string | undefined {
  try {
    return execFileSync(file, args, { env: LOOKUP_ENV, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
  } catch {
    return undefined; // getent exits 2 for "no such entry"
  }
}

function parsePasswd(line: string | undefined): UserEntry | undefined {
  const f = line?.split("\n")[0]?.split(":");
  if (!f || f.length < 7) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return { name: f[0]!, uid, gid, home: f[5]!, shell: f[6]! };
}

/** The account of a uid in the name service, or undefined when it has none. */
export function userByUid(uid: number): UserEntry | undefined {
  if (!Number.isInteger(uid) || uid < 0) return undefined;
  return cached(`uid:${uid}`, () => parsePasswd(run("/usr/bin/getent", ["passwd", String(uid)])));
}

export function userByName(name: string): UserEntry | undefined {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._@-]*\$?$/.test(name)) return undefined;
  return cached(`name:${name}`, () => parsePasswd(run("/usr/bin/getent", ["passwd", name])));
}

/** Every group of a user, primary first, as initgroups(3) would set them (from NSS). */
export function groupsOf(user: UserEntry): number[] {
  const groups = cached(`groups:${user.name}`, () =>
    run("/usr/bin/id", ["-G", user.name])
      ?.trim()
      .split(/\s+/)
      .map(Number)
      .filter((g) => Number.isInteger(g) && g >= 0),
  );
  return [...new Set([user.gid, ...(groups ?? [])])];
}

/** The user name of a uid, or the number as text when the uid has no account. */
export function usernameOf(uid: number): string {
  return userByUid(uid)?.name ?? String(uid);
}

/** Root and the config's AdminUids act on every user's jobs and may use what the container policy keeps for admins. */
export function isAdminUid(uid: number, adminUids: readonly number[]): boolean {
  return uid === 0 || adminUids.includes(uid);
}

export function currentIdentity(): Identity {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

export function currentUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return usernameOf(currentIdentity().uid);
  }
}

export interface SocketEnds {
  /** The client's address and port as the server sees them (grpc's peer). */
  peerAddress: string;
  peerPort: number;
  /** The port the server accepted the connection on. */
  serverPort: number;
}

/** grpc's peer form ("ipv4:1.2.3.4:5", "1.2.3.4:5", "[::1]:5") as address and port, or undefined. */
export function parsePeer(peer: string): { address: string; port: number } | undefined {
  const m = /^(?:ipv[46]:)?\[?([0-9A-Fa-f:.]+?)\]?:(\d+)$/.exec(peer);
  if (!m) return undefined;
  return { address: m[1]!, port: Number(m[2]) };
}

/**
 * The uid owning the client end of a TCP connection made from this host (this network namespace) to the server
 * port, from the kernel's socket tables. Undefined when no socket of this host is that client end, which is the
 * case for every other host and every container with its own network namespace, and also when two sockets with
 * different owners could be it: a caller that cannot be told apart is not trusted.
 */
export function socketOwnerUid(ends: SocketEnds, tables = ["/proc/net/tcp", "/proc/net/tcp6"]): number | undefined {
  const wanted = normaliseAddress(ends.peerAddress);
  const owners = new Set<number>();
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
      const [localHex, localPort] = f[1]!.split(":");
      const remotePort = f[2]!.split(":").at(-1);
      if (parseInt(localPort!, 16) !== ends.peerPort || parseInt(remotePort!, 16) !== ends.serverPort) continue;
      if (procAddress(localHex!) !== wanted) continue;
      owners.add(Number(f[7]));
    }
  }
  return owners.size === 1 ? [...owners][0] : undefined;
}

/** An IPv4 address, or an IPv6 one (an IPv4-mapped one as its IPv4 form) in full lower-case hex groups. */
function normaliseAddress(a: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (v4) return v4[1]!;
  const [head = "", tail = ""] = a.toLowerCase().split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = a.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.map((g) => g.padStart(4, "0")).join(":");
}

/**
 * /proc/net/tcp writes an IPv4 address as the hex of its 32 bits in host (little-endian) order; tcp6 writes four
 * such 32-bit words.
 */
function procAddress(hex: string): string {
  const word = (h: string) => {
    const n = parseInt(h, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
  };
  if (hex.length === 8) return word(hex).join(".");
  const bytes = [0, 8, 16, 24].flatMap((i) => word(hex.slice(i, i + 8)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return bytes.slice(12).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16).padStart(4, "0"));
  return groups.join(":");
}
