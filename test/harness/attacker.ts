// An untrusted party for security tests: a throw-away Unix user, commands run as that user (setpriv), "another host"
// (a network namespace joined to this one by a veth pair on a private /30, with no route anywhere else) and a raw gRPC
// client that is not crane's code (built at run time from proto/crane/services.proto with @grpc/proto-loader), callable
// in-process or as a standalone script run as the user and/or inside the namespace.
// Everything created here is also removed when the test process exits or is ended by SIGTERM/SIGINT/SIGHUP, should a
// test forget or fail before afterAll (not after SIGKILL).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
export const PROTO = path.join(ROOT, "proto", "crane", "services.proto");
const SETPRIV = "/usr/bin/setpriv";

// ---------------------------------------------------------------- leftovers

const pending = new Set<() => void>();
let exitHooked = false;
/** Registers a synchronous cleanup that also runs at process exit; returns an idempotent runner that unregisters it. */
function registerCleanup(fn: () => void): () => void {
  if (!exitHooked) {
    exitHooked = true;
    const runAll = () => {
      for (const f of [...pending]) f();
    };
    process.once("exit", runAll);
    // vitest ends its workers with SIGTERM, which skips "exit": clean up, then die of the signal as before.
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      process.once(sig, () => {
        runAll();
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    }
  }
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    pending.delete(run);
    fn();
  };
  pending.add(run);
  return run;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs a root command synchronously; retries while another process holds the passwd/group lock. */
function sys(argv: string[], opts: { check?: boolean } = {}): { code: number; stdout: string; stderr: string } {
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000 });
    const res = { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
    if (res.code !== 0 && /lock/i.test(res.stderr) && attempt < 50) {
      sleepSync(100);
      continue;
    }
    if (opts.check !== false && res.code !== 0) throw new Error(`${argv.join(" ")} failed (${res.code}): ${res.stderr}${res.stdout}`);
    return res;
  }
}

// ---------------------------------------------------------------- users

export interface UnixUser {
  name: string;
  uid: number;
  /** Primary group (the user's own group). */
  gid: number;
  home: string;
  /** A supplementary group of its own, `<name>g`, and its gid. */
  group: string;
  supplementaryGid: number;
  /** Removes user, both groups and the home directory. Idempotent. */
  cleanup(): void;
}

let userSeq = 0;
const exists = (db: "passwd" | "group", name: string) => spawnSync("getent", [db, name]).status === 0;

/** A fresh user with a private home (0700), /bin/sh and a supplementary group `<name>g`; unique per process. */
export function createUnixUser(prefix = "craneatk"): UnixUser {
  let name: string;
  do name = `${prefix}${process.pid}x${userSeq++}`;
  while (exists("passwd", name) || exists("group", name) || exists("group", `${name}g`));
  const group = `${name}g`;
  const home = path.join("/home", name);
  const cleanup = registerCleanup(() => {
    if (exists("passwd", name)) sys(["userdel", "--force", "--remove", name], { check: false });
    if (exists("group", group)) sys(["groupdel", group], { check: false });
    if (exists("group", name)) sys(["groupdel", name], { check: false });
    fs.rmSync(home, { recursive: true, force: true });
  });
  try {
    fs.mkdirSync("/home", { recursive: true });
    sys(["useradd", "--create-home", "--home-dir", home, "--shell", "/bin/sh", "--user-group", name]);
    sys(["groupadd", group]);
    sys(["usermod", "-aG", group, name]);
    const uid = Number(sys(["id", "-u", name]).stdout);
    const gid = Number(sys(["id", "-g", name]).stdout);
    const supplementaryGid = Number(sys(["getent", "group", group]).stdout.split(":")[2]);
    fs.chownSync(home, uid, gid);
    fs.chmodSync(home, 0o700);
    return { name, uid, gid, home, group, supplementaryGid, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

// ---------------------------------------------------------------- running commands

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
  /** Default 60 s; the whole process group is SIGKILLed then and stderr says so. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function collect(argv: string[], o: { env: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout kills whatever the command started too.
    const child = spawn(argv[0]!, argv.slice(1), { env: o.env, cwd: o.cwd, detached: true });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const ms = o.timeoutMs ?? 60_000;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.on("error", () => {}); // the command may exit without reading its input
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, ms);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[attacker harness] ${argv.join(" ")}: killed after ${ms} ms\n`;
      resolve({ code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -1), stdout, stderr });
    });
    child.stdin.end(o.input ?? "");
  });
}

function asUserArgv(user: UnixUser, argv: string[]): string[] {
  return [SETPRIV, "--reuid", String(user.uid), "--regid", String(user.gid), "--init-groups", "--", ...argv];
}

function userEnv(user: UnixUser, env?: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", HOME: user.home, ...env };
}

/** Runs argv as the user (real/effective uid and gid, its groups) with only PATH, HOME and opts.env; cwd its home. */
export function runAs(user: UnixUser, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return collect(asUserArgv(user, argv), { ...opts, env: userEnv(user, opts.env), cwd: opts.cwd ?? user.home });
}

// ---------------------------------------------------------------- another host

export interface NetnsHost {
  /** The namespace's name (for `ip netns exec` or rawCallAs). */
  name: string;
  /** This (root-namespace) end of the veth pair: what the other host dials to reach us. */
  hostAddress: string;
  /** The namespace's end: where its connections come from. */
  peerAddress: string;
  /** Runs argv inside the namespace; as `opts.user` if given (then with runAs's minimal env and cwd). */
  exec(argv: string[], opts?: RunOptions & { user?: UnixUser }): Promise<RunResult>;
  /** Kills what still runs inside, deletes the veth pair and the namespace. Idempotent. */
  cleanup(): void;
}

let netnsReason: string | undefined | null = null;
/** Why network namespaces cannot be used here, or undefined when `ip netns add/exec/del` works (as root). */
export function netnsMissingReason(): string | undefined {
  if (netnsReason !== null) return netnsReason;
  netnsReason = (() => {
    if (process.getuid?.() !== 0) return "network namespaces need root";
    if (!fs.existsSync(SETPRIV)) return `${SETPRIV} is missing`;
    const probe = `crane-atk-probe-${process.pid}`;
    const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
    if (add.error || add.status !== 0) return `ip netns add does not work here: ${add.error ?? add.stderr.trim()}`;
    const ex = spawnSync("ip", ["netns", "exec", probe, "true"], { encoding: "utf8" });
    spawnSync("ip", ["netns", "del", probe]);
    if (ex.status !== 0) return `ip netns exec does not work here: ${ex.stderr.trim()}`;
    return undefined;
  })();
  return netnsReason;
}

let netnsSeq = 0;

/** A /30 in 10.213.0.0/16 (third octet from the pid) that no address or route here uses yet. */
function freeSubnet(): [number, number] {
  const used = sys(["ip", "-4", "-o", "addr", "show"]).stdout + sys(["ip", "-4", "route", "show", "table", "all"]).stdout;
  const taken = new Set<string>();
  for (const m of used.matchAll(/\b10\.213\.(\d+)\.(\d+)/g)) taken.add(`${m[1]}.${Math.floor(Number(m[2]) / 4)}`);
  for (let i = 0; i < 256 * 64; i++) {
    const x = (process.pid + Math.floor(i / 64)) % 256;
    const y = i % 64;
    if (!taken.has(`${x}.${y}`)) return [x, y * 4];
  }
  throw new Error("no free /30 left in 10.213.0.0/16");
}

/**
 * "Another host": a network namespace whose only link is a veth pair to this namespace, addressed
 * 10.213.X.(Y+1) here and 10.213.X.(Y+2) there on a /30, loopback up inside. No other routes, no NAT, no IPv6.
 */
export async function createNetnsHost(): Promise<NetnsHost> {
  const reason = netnsMissingReason();
  if (reason) throw new Error(reason);
  let n: number;
  const linkExists = (dev: string) => spawnSync("ip", ["link", "show", dev]).status === 0;
  const nsExists = (ns: string) =>
    sys(["ip", "netns", "list"])
      .stdout.split("\n")
      .some((l) => l.split(" ")[0] === ns);
  do n = netnsSeq++;
  while (nsExists(`crane-atk-${process.pid}-${n}`) || linkExists(`catk${process.pid}h${n}`));
  const name = `crane-atk-${process.pid}-${n}`;
  const hostDev = `catk${process.pid}h${n}`; // at most 15 characters: pid <= 7 digits
  const peerDev = `catk${process.pid}n${n}`;
  if (hostDev.length > 15) throw new Error(`interface name ${hostDev} too long`);

  const cleanup = registerCleanup(() => {
    const pids = spawnSync("ip", ["netns", "pids", name], { encoding: "utf8" }).stdout ?? "";
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    spawnSync("ip", ["link", "del", hostDev]); // takes the peer end with it
    spawnSync("ip", ["netns", "del", name]);
  });
  try {
    const [x, y] = freeSubnet();
    const hostAddress = `10.213.${x}.${y + 1}`;
    const peerAddress = `10.213.${x}.${y + 2}`;
    sys(["ip", "netns", "add", name]);
    sys(["ip", "link", "add", hostDev, "type", "veth", "peer", "name", peerDev, "netns", name]);
    // No IPv6 on either end (no link-local addresses, router solicitations or DAD traffic).
    try {
      fs.writeFileSync(`/proc/sys/net/ipv6/conf/${hostDev}/disable_ipv6`, "1");
    } catch {
      /* no IPv6 here */
    }
    sys(["ip", "netns", "exec", name, "sh", "-c", `echo 1 > /proc/sys/net/ipv6/conf/${peerDev}/disable_ipv6 || true`], { check: false });
    sys(["ip", "addr", "add", `${hostAddress}/30`, "dev", hostDev]);
    sys(["ip", "link", "set", hostDev, "up"]);
    sys(["ip", "-n", name, "addr", "add", `${peerAddress}/30`, "dev", peerDev]);
    sys(["ip", "-n", name, "link", "set", peerDev, "up"]);
    sys(["ip", "-n", name, "link", "set", "lo", "up"]);
    return {
      name,
      hostAddress,
      peerAddress,
      exec(argv, opts = {}) {
        const { user, ...o } = opts;
        const inside = ["ip", "netns", "exec", name];
        if (user) return collect([...inside, ...asUserArgv(user, argv)], { ...o, env: userEnv(user, o.env), cwd: o.cwd ?? user.home });
        return collect([...inside, ...argv], { ...o, env: { ...process.env, ...o.env } });
      },
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

// ---------------------------------------------------------------- raw gRPC

export type CraneService = "CraneCtld" | "CraneCtldForInternal" | "Craned";

export interface RawCallArgs {
  /** host:port, e.g. `127.0.0.1:${cluster.port}` */
  address: string;
  service: CraneService;
  /** Method name as in the proto, e.g. "SubmitBatchJob". */
  method: string;
  /** The request as a plain object: camelCase field names, enums by number or name, 64-bit ints as strings or numbers, bytes as base64. */
  request?: unknown;
  /** Instead of `request`: the exact bytes to send (base64), for malformed messages. */
  requestBase64?: string;
  /** Sent as call metadata (keys ending -bin: values in base64), e.g. { "x-crane-uid": "0", "x-crane-gid": "0" }. */
  metadata?: Record<string, string>;
  /** Deadline, default 10 s. */
  timeoutMs?: number;
}

export interface RawCallResult {
  /** gRPC status code: 0 OK, 3 INVALID_ARGUMENT, 7 PERMISSION_DENIED, 14 UNAVAILABLE, 16 UNAUTHENTICATED, ... */
  code: number;
  details: string;
  /** Unary calls: the reply (all fields present with defaults; 64-bit ints as strings, enums as numbers, bytes base64). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever the method returns, as proto-loader decodes it
  response?: any;
  /** Server-streaming calls: the messages received before the status. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  responses?: any[];
}

// The client, as standalone CommonJS: `require`d in-process, or run with JSON on stdin by any user in any namespace.
const CLIENT_SOURCE = (grpcJs: string, protoLoader: string, proto: string) => `"use strict";
// Raw gRPC client for crane's security tests (generated by test/harness/attacker.ts).
const grpc = require(${JSON.stringify(grpcJs)});
const loader = require(${JSON.stringify(protoLoader)});
const OPTIONS = { includeDirs: [${JSON.stringify(path.dirname(path.dirname(proto)))}], keepCase: false, longs: String, enums: Number, bytes: String, defaults: true, arrays: true, objects: true, oneofs: true };
let definition;
function call(a) {
  definition = definition || loader.loadSync(${JSON.stringify(proto)}, OPTIONS);
  const svc = definition["crane.grpc." + a.service];
  const m = svc && svc[a.method];
  if (!m) return Promise.reject(new Error("no method crane.grpc." + a.service + "/" + a.method + " in the proto"));
  if (m.requestStream) return Promise.reject(new Error("client-streaming methods are not supported"));
  const serialize = a.requestBase64 !== undefined ? () => Buffer.from(a.requestBase64, "base64") : m.requestSerialize;
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(a.metadata || {})) md.set(k, k.endsWith("-bin") ? Buffer.from(v, "base64") : String(v));
  const options = { deadline: Date.now() + (a.timeoutMs || 10000) };
  const client = new grpc.Client(a.address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    const done = (r) => { client.close(); resolve(r); };
    if (!m.responseStream) {
      client.makeUnaryRequest(m.path, serialize, m.responseDeserialize, a.request || {}, md, options, (err, response) =>
        done(err ? { code: err.code, details: err.details || "" } : { code: 0, details: "", response }));
      return;
    }
    const responses = [];
    const stream = client.makeServerStreamRequest(m.path, serialize, m.responseDeserialize, a.request || {}, md, options);
    stream.on("data", (d) => responses.push(d));
    stream.on("error", () => {});
    stream.on("status", (s) => done({ code: s.code, details: s.details || "", responses }));
  });
}
module.exports = { call };
if (require.main === module) {
  let input = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d) => (input += d));
  process.stdin.on("end", () => {
    call(JSON.parse(input)).then(
      (r) => { process.stdout.write(JSON.stringify(r) + "\\n"); process.exit(0); },
      (e) => { process.stderr.write(String((e && e.stack) || e) + "\\n"); process.exit(2); });
  });
}
`;

let clientScript: string | undefined;
/** The standalone client's path (in a world-readable temp directory, removed at exit). */
export function rawClientScript(): string {
  if (clientScript) return clientScript;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-atk-grpc-"));
  registerCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, "raw-grpc.cjs");
  fs.writeFileSync(file, CLIENT_SOURCE(require.resolve("@grpc/grpc-js"), require.resolve("@grpc/proto-loader"), PROTO), { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  clientScript = file;
  return file;
}

/** One call from this process (as root, from this namespace). Rejects only for a method the proto lacks. */
export function rawCall(args: RawCallArgs): Promise<RawCallResult> {
  const client = createRequire(__filename)(rawClientScript()) as { call(a: RawCallArgs): Promise<RawCallResult> };
  return client.call(args);
}

/** The same call from a separate Node process, run as `user` (if given) inside network namespace `netns` (if given). */
export async function rawCallAs(user: UnixUser | undefined, netns: string | NetnsHost | undefined, args: RawCallArgs): Promise<RawCallResult> {
  let argv = [process.execPath, rawClientScript()];
  if (user) argv = asUserArgv(user, argv);
  if (netns) argv = ["ip", "netns", "exec", typeof netns === "string" ? netns : netns.name, ...argv];
  const env = user ? userEnv(user) : { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  const r = await collect(argv, { env, cwd: user?.home ?? "/", input: JSON.stringify(args), timeoutMs: (args.timeoutMs ?? 10_000) + 30_000 });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    if (r.code === 0) return JSON.parse(line) as RawCallResult;
  } catch {
    /* reported below */
  }
  throw new Error(`raw gRPC client failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
}

/** The raw client in one object. */
export const rawGrpc = { call: rawCall, callAs: rawCallAs, script: rawClientScript, proto: PROTO };
