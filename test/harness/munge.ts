// A private munged for tests: its own key, socket, pid/log/seed files in a temp dir, so it runs beside (or
// without) the system munged and never touches /etc/munge or /run/munge.
//
//   const munged = await startMunged();   // needs /usr/sbin/munged (Debian package munge)
//   await mungeEncode({ socketPath: munged.socket });
//   await munged.stop();                   // kills it by pid and removes the temp dir
//
// The socket is usable by every local user, as /run/munge/munge.socket.2 is: munged creates it mode 0777 and
// the temp dir is made 0755 (munged itself refuses to start when the socket's directory is not executable by all).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const MUNGED = "/usr/sbin/munged";
const MUNGEKEY = "/usr/sbin/mungekey";
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface MungedHarness {
  /** munged's unix socket. */
  socket: string;
  /** Kills munged by pid (SIGTERM, then SIGKILL after 5 s) and removes its temp dir. */
  stop(): Promise<void>;
}

/** Why a private munged cannot run here, or undefined when it can. */
export function mungedMissingReason(): string | undefined {
  try {
    fs.accessSync(MUNGED, fs.constants.X_OK);
    return undefined;
  } catch {
    return `missing ${MUNGED} (apt-get install munge)`;
  }
}

export async function startMunged(): Promise<MungedHarness> {
  const missing = mungedMissingReason();
  if (missing) throw new Error(`startMunged: ${missing}`);
  // Under /tmp rather than os.tmpdir(): a second, unprivileged user must be able to reach the socket.
  const dir = fs.mkdtempSync("/tmp/crane-munge-");
  fs.chmodSync(dir, 0o755);
  const file = (name: string) => path.join(dir, name);
  const socket = file("munge.socket");
  let child: ChildProcess | undefined;
  try {
    await createKey(file("munge.key"));
    // -F keeps munged our child: without it munged forks and the daemon is re-parented to PID 1, which may not
    // reap it (then a stopped munged lingers as a zombie). In the foreground munged logs to stderr, not to
    // --log-file, so stderr goes to a file of its own. Running as root needs no --force in 0.5.15.
    const stderrPath = file("munged.stderr");
    const stderr = fs.openSync(stderrPath, "w");
    try {
      child = spawn(
        MUNGED,
        [
          "--foreground",
          `--key-file=${file("munge.key")}`,
          `--socket=${socket}`,
          `--pid-file=${file("munged.pid")}`,
          `--log-file=${file("munged.log")}`,
          `--seed-file=${file("munged.seed")}`,
        ],
        { stdio: ["ignore", "ignore", stderr] },
      );
    } finally {
      fs.closeSync(stderr);
    }
    await waitUntilServing(child, socket, stderrPath);
  } catch (err) {
    await kill(child);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const started = child;
  return {
    socket,
    async stop() {
      await kill(started);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function createKey(keyFile: string): Promise<void> {
  try {
    fs.accessSync(MUNGEKEY, fs.constants.X_OK);
  } catch {
    fs.writeFileSync(keyFile, crypto.randomBytes(1024), { mode: 0o600 });
    return;
  }
  await run(MUNGEKEY, ["--create", `--keyfile=${keyFile}`]);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves once munged accepts connections; rejects with its stderr if it exits first. */
async function waitUntilServing(child: ChildProcess, socket: string, stderrPath: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let spawnError: Error | undefined;
  child.once("error", (err) => (spawnError = err));
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`munged could not be started: ${spawnError.message}`);
    if (exited(child)) {
      const log = fs.readFileSync(stderrPath, "utf8").trim();
      throw new Error(`munged exited (${child.exitCode ?? child.signalCode}) during startup:\n${log}`);
    }
    if (await accepts(socket)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`munged did not serve ${socket} within ${START_TIMEOUT_MS} ms`);
}

/** Connects and closes at once: munged reads EOF and drops the connection without tying up a worker for 2 s. */
function accepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.createConnection({ path: socket });
    conn.once("connect", () => {
      conn.destroy();
      resolve(true);
    });
    conn.once("error", () => resolve(false));
  });
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.pid === undefined || exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await gone;
  clearTimeout(timer);
}
