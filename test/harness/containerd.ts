// A private containerd for integration tests: its own root, state, sockets, runc root, CNI config and bridge,
// so it runs beside a system containerd (or another harness) without touching it. It serves CRI with the
// busybox and pause images of src/core/cri/oci-image imported (built once per busybox binary and cached).
//
//   const ctrd = await startContainerd();      // needs root and the containerd, runc, ctr binaries
//   const cri = connectCri({ runtimeEndpoint: ctrd.socket });
//   ...
//   await ctrd.stop();                          // removes its pods, kills it, unmounts, deletes the bridge and dirs
import { type ChildProcess, execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { connectCri } from "../../src/core/cri/client";
import { imageStatus } from "../../src/core/cri/image";
import { BUSYBOX_IMAGE, BUSYBOX_IMAGE_FORMAT, busyboxFingerprint, PAUSE_IMAGE, writeBusyboxImageTar } from "../../src/core/cri/oci-image";
import { listPodSandboxes, removePodSandbox, stopPodSandbox } from "../../src/core/cri/sandbox";

const run = promisify(execFile);

export interface ContainerdHarness {
  /** containerd's gRPC socket (CRI runtime and image endpoint). */
  socket: string;
  /** Everything of this containerd lives under here. */
  dir: string;
  /** The CRI CNI conf_dir (holds one bridge conflist). */
  cniConfDir: string;
  /** Linux bridge of the pod network, unique to this harness. */
  bridge: string;
  /** Pod network subnet, unique to this harness. */
  subnet: string;
  /** containerd's current pid (changes on restart). */
  readonly pid: number;
  /** containerd's own log. */
  logFile: string;
  /** Removes every pod and container, kills containerd and its shims, unmounts, removes bridge and dirs. */
  stop(): Promise<void>;
  /** Stops containerd with `signal` (default SIGTERM; SIGKILL to simulate a crash) and starts it again. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** Imports an image tar (OCI layout or docker save) into the k8s.io namespace. */
  importImage(tarPath: string): Promise<void>;
}

export interface StartContainerdOptions {
  /** Directory to use (kept after stop, its contents removed); default: a new temp dir, removed after stop. */
  dir?: string;
  /** Milliseconds to wait for the CRI service (default 30 s). */
  startTimeoutMs?: number;
}

const BINARIES = ["containerd", "containerd-shim-runc-v2", "runc", "ctr"] as const;

function onPath(binary: string): boolean {
  return (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin")
    .split(":")
    .concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    .some((dir) => {
      try {
        fs.accessSync(path.join(dir, binary), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** Why the harness cannot run here, or undefined when it can (root plus containerd, runc, ctr, busybox). */
export function containerdUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return "integration tests with containerd need root";
  const missing = BINARIES.filter((b) => !onPath(b));
  if (missing.length > 0) return `missing ${missing.join(", ")} (apt-get install containerd runc)`;
  if (!fs.existsSync("/bin/busybox")) return "missing /bin/busybox (apt-get install busybox-static)";
  if (!fs.existsSync("/usr/lib/cni/bridge")) return "missing CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)";
  return undefined;
}

// ------------------------------------------------------------------------------------------------ image

let imageTarPromise: Promise<string> | undefined;

/** The busybox/pause image tar, built once per busybox binary and image format, cached in the temp dir. */
export function testImageTar(): Promise<string> {
  imageTarPromise ??= (async () => {
    const key = `${busyboxFingerprint().slice(0, 16)}-f${BUSYBOX_IMAGE_FORMAT}`;
    const file = path.join(os.tmpdir(), "crane-test-images", `busybox-${key}.tar`);
    if (!fs.existsSync(file)) writeBusyboxImageTar(file);
    return file;
  })();
  return imageTarPromise;
}

// ------------------------------------------------------------------------------------------------ config

function toml(value: string): string {
  return JSON.stringify(value); // a TOML basic string for any path we generate
}

function containerdConfig(d: Dirs, socket: string): string {
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  return `version = 2
root = ${toml(d.root)}
state = ${toml(d.state)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${toml(socket)}

[ttrpc]
  address = ${toml(`${socket}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = ${toml(d.opt)}
  [${cri}]
    sandbox_image = ${toml(PAUSE_IMAGE)}
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_tls_streaming = false
    [${cri}.cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = ${toml(d.cniConf)}
      max_conf_num = 1
    [${cri}.containerd]
      default_runtime_name = "runc"
      [${cri}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [${cri}.containerd.runtimes.runc.options]
          Root = ${toml(d.runc)}
          SystemdCgroup = false
`;
}

function cniConflist(network: string, bridge: string, subnet: string, dataDir: string): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: network,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: "host-local", ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }], dataDir },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** A 10.77.N.0/24 no route of this host uses yet. */
async function pickSubnet(): Promise<string> {
  const { stdout } = await run("ip", ["-4", "route", "show"]);
  const used = new Set([...stdout.matchAll(/^10\.77\.(\d+)\./gm)].map((m) => Number(m[1])));
  for (let attempt = 0; attempt < 256; attempt++) {
    const n = crypto.randomInt(0, 256);
    if (!used.has(n)) return `10.77.${n}.0/24`;
  }
  throw new Error("no free 10.77.N.0/24 subnet for the test pod network");
}

interface Dirs {
  root: string;
  state: string;
  runc: string;
  opt: string;
  cniConf: string;
  cniData: string;
}

// ------------------------------------------------------------------------------------------------ cleanup helpers

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const points = fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => Boolean(p))
    .map((p) => p.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Pids of processes whose command line contains `needle` (e.g. shims started for our socket). */
function pidsWithArg(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args.includes(needle)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function tailOf(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ------------------------------------------------------------------------------------------------ start

export async function startContainerd(opts: StartContainerdOptions = {}): Promise<ContainerdHarness> {
  const reason = containerdUnavailableReason();
  if (reason) throw new Error(`cannot start a test containerd: ${reason}`);

  const ownDir = !opts.dir;
  const dir = opts.dir ? path.resolve(opts.dir) : fs.mkdtempSync(path.join(os.tmpdir(), "crane-ctrd-"));
  fs.mkdirSync(dir, { recursive: true });
  const id = crypto.randomBytes(3).toString("hex");
  const d: Dirs = {
    root: path.join(dir, "root"),
    state: path.join(dir, "state"),
    runc: path.join(dir, "runc"),
    opt: path.join(dir, "opt"),
    cniConf: path.join(dir, "cni", "net.d"),
    cniData: path.join(dir, "cni", "networks"),
  };
  for (const p of Object.values(d)) fs.mkdirSync(p, { recursive: true });
  const socket = path.join(dir, "containerd.sock");
  if (socket.length > 100) throw new Error(`socket path too long for a unix socket: ${socket}`);
  const bridge = `crt${id}`;
  const network = `crane-test-${id}`;
  const subnet = await pickSubnet();
  fs.writeFileSync(path.join(d.cniConf, "10-crane-test.conflist"), cniConflist(network, bridge, subnet, d.cniData));
  const configFile = path.join(dir, "config.toml");
  fs.writeFileSync(configFile, containerdConfig(d, socket));
  const logFile = path.join(dir, "containerd.log");
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;

  let child: ChildProcess | undefined;
  const cri = connectCri({ runtimeEndpoint: socket, timeoutMs: 2_000 });
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  // Best effort if the test process dies without stop(): do not leave a daemon behind.
  const killOnExit = () => {
    if (running()) child?.kill("SIGKILL");
  };
  process.on("exit", killOnExit);

  /** Spawns containerd and waits until it serves CRI. */
  const launch = async () => {
    const logFd = fs.openSync(logFile, "a");
    const proc = spawn("containerd", ["--config", configFile, "--log-level", "info"], { stdio: ["ignore", logFd, logFd] });
    fs.closeSync(logFd);
    child = proc;
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`containerd exited during startup (${proc.exitCode ?? proc.signalCode}):\n${tailOf(logFile)}`);
      }
      if (fs.existsSync(socket)) {
        try {
          await cri.version({ timeoutMs: 1_000 });
          return;
        } catch {
          // CRI not registered yet
        }
      }
      if (Date.now() > deadline) throw new Error(`containerd did not serve CRI on ${socket} in time:\n${tailOf(logFile)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** Stops the daemon (its shims and containers keep running, as with a real daemon restart). */
  const kill = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || !running()) return;
    proc.kill(signal);
    if (!(await waitExit(proc, 10_000))) {
      proc.kill("SIGKILL");
      await waitExit(proc, 5_000);
    }
  };

  const importImage = async (tarPath: string) => {
    try {
      await run("ctr", ["-a", socket, "-n", "k8s.io", "images", "import", "--all-platforms", tarPath], { timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`failed to import image ${tarPath} into test containerd: ${(e.stderr || e.message).trim()}`);
    }
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const problems: string[] = [];
    // 1. Pods (and with them their containers, network namespaces and IPs), through CRI. A daemon that
    //    died is started again first: it recovers its sandboxes and can tear them down properly.
    try {
      const answers =
        running() &&
        (await cri.version({ timeoutMs: 2_000 }).then(
          () => true,
          () => false,
        ));
      if (!answers) {
        await kill("SIGKILL");
        await launch();
      }
      for (const pod of await listPodSandboxes(cri)) {
        try {
          await stopPodSandbox(cri, pod.id, { timeoutMs: 30_000 });
          await removePodSandbox(cri, pod.id, { timeoutMs: 30_000 });
        } catch (err) {
          problems.push(String(err));
        }
      }
    } catch (err) {
      problems.push(String(err));
    }
    cri.close();
    // 2. The daemon.
    await kill("SIGTERM");
    process.removeListener("exit", killOnExit);
    // 3. Anything CRI could not remove: containers via our runc root, then the shims bound to our socket.
    for (const ns of fs.existsSync(d.runc) ? fs.readdirSync(d.runc) : []) {
      const rootDir = path.join(d.runc, ns);
      try {
        const { stdout } = await run("runc", ["--root", rootDir, "list", "-q"]);
        for (const cid of stdout.split("\n").filter(Boolean)) {
          await run("runc", ["--root", rootDir, "delete", "--force", cid]).catch(() => undefined);
          problems.push(`container ${cid} was left running`);
        }
      } catch {
        // not a runc root
      }
    }
    for (const shim of pidsWithArg(socket)) {
      try {
        process.kill(shim, "SIGKILL");
      } catch {
        // gone
      }
    }
    // Network namespaces CRI did not tear down: ours are those with an address in our subnet.
    if (problems.length > 0) {
      const prefix = `inet ${subnet.split(".").slice(0, 3).join(".")}.`;
      for (const ns of fs.existsSync("/run/netns") ? fs.readdirSync("/run/netns") : []) {
        const { stdout } = await run("ip", ["netns", "exec", ns, "ip", "-4", "-o", "addr"]).catch(() => ({ stdout: "" }));
        if (stdout.includes(prefix)) await run("ip", ["netns", "delete", ns]).catch(() => undefined);
      }
    }
    // 4. Mounts (rootfs, shm), lazily: nothing must stay mounted before the dirs go.
    for (const mountPoint of mountsUnder(dir)) {
      await run("umount", ["-l", mountPoint]).catch((err: unknown) => problems.push(`umount ${mountPoint}: ${String(err)}`));
    }
    // 5. The bridge, then the directories (never while something is still mounted under them).
    await run("ip", ["link", "del", bridge]).catch(() => undefined);
    const leftover = mountsUnder(dir);
    if (leftover.length > 0) {
      problems.push(`still mounted, ${dir} kept: ${leftover.join(", ")}`);
    } else if (ownDir) {
      fs.rmSync(dir, { recursive: true, force: true });
    } else {
      for (const p of [d.root, d.state, d.runc, d.opt, path.join(dir, "cni")]) fs.rmSync(p, { recursive: true, force: true });
    }
    if (problems.length > 0) throw new Error(`test containerd cleanup had problems:\n  ${problems.join("\n  ")}`);
  };

  const restart = async (signal: NodeJS.Signals = "SIGTERM") => {
    await kill(signal);
    await launch();
  };

  try {
    await launch();
    await importImage(await testImageTar());
    // CRI learns about imported images from containerd events: wait until it sees both.
    const deadline = Date.now() + startTimeoutMs;
    for (const ref of [BUSYBOX_IMAGE, PAUSE_IMAGE]) {
      while (!(await imageStatus(cri, ref))) {
        if (Date.now() > deadline) throw new Error(`image ${ref} not visible through CRI after import`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  return {
    socket,
    dir,
    cniConfDir: d.cniConf,
    bridge,
    subnet,
    logFile,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    restart,
    importImage,
  };
}
