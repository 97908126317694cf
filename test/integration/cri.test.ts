// crane's CRI client against a real, private containerd (test/harness/containerd.ts).
// Needs root and containerd/runc/ctr/busybox-static/CNI plugins; skipped with the reason otherwise.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BUSYBOX_IMAGE,
  buildBusyboxImageLayout,
  connectCri,
  criErrorMessage,
  formatCriLogLine,
  formatRfc3339Nano,
  joinPartialLines,
  parseCriLogLine,
  parseRfc3339Nano,
  containerPid,
  containerStatus,
  ContainerState,
  createContainer,
  type CriClient,
  CriError,
  ensureImage,
  execSync,
  followCriLog,
  getAttachUrl,
  getExecUrl,
  imageStatus,
  listContainers,
  listImages,
  listPodSandboxes,
  NamespaceMode,
  PAUSE_IMAGE,
  podSandboxStatus,
  PodSandboxState,
  type PodSandboxConfig,
  readCriLog,
  removeContainer,
  removePodSandbox,
  runPodSandbox,
  startContainer,
  stopPodSandbox,
  supportsContainerEvents,
  waitContainerExit,
  type CriLogLine,
  type DeepPartial,
} from "../../src/core/cri";
import { type ContainerdHarness, containerdUnavailableReason, startContainerd } from "../harness/containerd";

const unavailable = containerdUnavailableReason();
const RUN_LABEL = { "crane.test/run": `${process.pid}` };

// ------------------------------------------------------------------------------------------------ job cgroup

/** A job-like cgroup the pods are placed under (cgroupfs driver), on cgroup v1 (per controller) or v2. */
interface TestCgroup {
  /** CRI cgroup_parent, e.g. /crane-test-1234. */
  parent: string;
  v2: boolean;
  remove(): void;
}

function createTestCgroup(name: string): TestCgroup {
  const root = "/sys/fs/cgroup";
  const v2 = fs.existsSync(path.join(root, "cgroup.controllers"));
  const dirs: string[] = [];
  if (v2) {
    for (const controller of ["cpuset", "cpu", "memory", "pids"]) {
      try {
        fs.writeFileSync(path.join(root, "cgroup.subtree_control"), `+${controller}`);
      } catch {
        // not available here; runc copes
      }
    }
    dirs.push(path.join(root, name));
  } else {
    for (const controller of ["cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer"]) {
      if (fs.existsSync(path.join(root, controller))) dirs.push(path.join(root, controller, name));
    }
  }
  for (const dir of dirs) {
    fs.mkdirSync(dir, { recursive: true });
    if (!v2 && dir.includes("/cpuset/")) {
      // New cpuset cgroups start empty: copy the parent's CPUs and memory nodes.
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        fs.writeFileSync(path.join(dir, file), fs.readFileSync(path.join(path.dirname(dir), file), "utf8").trim());
      }
    }
  }
  const rmTree = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) rmTree(path.join(dir, entry.name));
    }
    fs.rmdirSync(dir);
  };
  return {
    parent: `/${name}`,
    v2,
    remove: () => dirs.forEach(rmTree),
  };
}

/** The cgroup directory of a process for a v1 controller (or the v2 directory). */
function cgroupDirOf(pid: number, controller: string, v2: boolean): string {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  for (const line of lines) {
    const [, controllers, rel] = line.split(":");
    if (controllers === undefined || rel === undefined) continue;
    if (v2 && controllers === "") return path.join("/sys/fs/cgroup", rel);
    if (!v2 && controllers.split(",").includes(controller)) return path.join("/sys/fs/cgroup", controllers, rel);
  }
  throw new Error(`no ${controller} cgroup for pid ${pid}: ${lines.join(" | ")}`);
}

// ------------------------------------------------------------------------------------------------ no daemon needed

describe("CRI pieces that need no daemon", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "crane-cri-test-"));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("parses CRI log records, with any fraction length and time zone", () => {
    expect(parseCriLogLine("2024-05-06T07:08:09.123456789Z stdout F hello world")).toEqual({
      timeNs: 1714979289123456789n,
      stream: "stdout",
      partial: false,
      data: "hello world",
    });
    expect(parseCriLogLine("2024-05-06T09:08:09.1234+02:00 stderr P  two  spaces ")).toEqual({
      timeNs: 1714979289123400000n,
      stream: "stderr",
      partial: true,
      data: " two  spaces ",
    });
    expect(parseCriLogLine("2024-05-06T07:08:09Z stdout F:x ")?.data).toBe(""); // extra tags, empty text
    expect(parseCriLogLine("2024-05-06T07:08:09Z stdout F")?.data).toBe("");
    for (const bad of ["", "hello", "2024-05-06T07:08:09Z stdin F x", "2024-05-06T07:08:09Z stdout X x", "yesterday stdout F x"]) {
      expect(parseCriLogLine(bad)).toBeUndefined();
    }
    const t = 1714979289000000001n;
    expect(parseRfc3339Nano(formatRfc3339Nano(t))).toBe(t);
    const line = { timeNs: t, stream: "stderr" as const, partial: true, data: "x y" };
    expect(parseCriLogLine(formatCriLogLine(line).trimEnd())).toEqual(line);
    expect(
      joinPartialLines([
        { ...line, data: "ab" },
        { ...line, timeNs: t + 1n, partial: false, data: "cd" },
      ]),
    ).toEqual([{ ...line, data: "abcd", partial: false }]);
  });

  it("reads a log with tail, since, until and stream filters, and skips a line still being written", async () => {
    const file = path.join(tmp, "big.log");
    const base = 1714979289000000000n;
    const records = Array.from({ length: 5000 }, (_, i) =>
      formatCriLogLine({ timeNs: base + BigInt(i), stream: i % 2 ? "stderr" : "stdout", partial: false, data: `line ${i} ${"x".repeat(i % 50)}` }),
    );
    fs.writeFileSync(file, `${records.join("")}2024-05-06T07:08:09Z stdout F half-writ`);
    expect(await readCriLog(file)).toHaveLength(5000);
    const tail = await readCriLog(file, { tail: 3 });
    expect(tail.map((l) => l.data.split(" ").slice(0, 2).join(" "))).toEqual(["line 4997", "line 4998", "line 4999"]);
    expect((await readCriLog(file, { tail: 2, streams: ["stdout"] })).map((l) => l.timeNs - base)).toEqual([4996n, 4998n]);
    expect(await readCriLog(file, { tail: 10_000 })).toHaveLength(5000);
    expect((await readCriLog(file, { sinceNs: base + 4990n, untilNs: base + 4992n })).map((l) => l.timeNs - base)).toEqual([4990n, 4991n, 4992n]);
    expect(await readCriLog(path.join(tmp, "missing.log"))).toEqual([]);
  });

  it("follows a log that appears late, grows, and is replaced", async () => {
    const file = path.join(tmp, "follow.log");
    const seen: string[] = [];
    const follower = followCriLog(file, { onLine: (l) => seen.push(l.data), pollMs: 10 });
    const rec = (data: string) => formatCriLogLine({ timeNs: 1n, stream: "stdout", partial: false, data });
    await new Promise((r) => setTimeout(r, 30));
    fs.writeFileSync(file, rec("a"));
    await expect.poll(() => seen).toEqual(["a"]);
    fs.appendFileSync(file, `${rec("b")}2024-05-06T07:08:09Z stdout F c`);
    await expect.poll(() => seen).toEqual(["a", "b"]);
    fs.appendFileSync(file, "\n");
    await expect.poll(() => seen).toEqual(["a", "b", "c"]);
    fs.renameSync(file, `${file}.1`); // like ReopenContainerLog after rotation
    fs.writeFileSync(file, rec("d"));
    fs.appendFileSync(file, rec("e"));
    await follower.stop();
    expect(seen).toEqual(["a", "b", "c", "d", "e"]);

    const tailSeen: string[] = [];
    const tailer = followCriLog(file, { onLine: (l) => tailSeen.push(l.data), start: { tail: 1 }, pollMs: 10 });
    await expect.poll(() => tailSeen).toEqual(["e"]);
    fs.appendFileSync(file, rec("f"));
    await tailer.stop();
    expect(tailSeen).toEqual(["e", "f"]);
  });

  it("builds a reproducible OCI layout that tar reads, with matching digests", () => {
    const a = buildBusyboxImageLayout();
    expect(buildBusyboxImageLayout().tar.equals(a.tar)).toBe(true);
    const file = path.join(tmp, "image.tar");
    fs.writeFileSync(file, a.tar);
    const out = path.join(tmp, "image");
    fs.mkdirSync(out);
    execFileSync("tar", ["-xf", file, "-C", out]);
    const index = JSON.parse(fs.readFileSync(path.join(out, "index.json"), "utf8")) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests.map((m) => m.annotations["io.containerd.image.name"])).toEqual([BUSYBOX_IMAGE, PAUSE_IMAGE]);
    expect(index.manifests[0]?.annotations["org.opencontainers.image.ref.name"]).toBe("latest");
    for (const blob of fs.readdirSync(path.join(out, "blobs", "sha256"))) {
      const data = fs.readFileSync(path.join(out, "blobs", "sha256", blob));
      expect(crypto.createHash("sha256").update(data).digest("hex")).toBe(blob);
    }
    const layer = zlib.gunzipSync(fs.readFileSync(path.join(out, "blobs", "sha256", a.layerDigest.slice(7))));
    expect(`sha256:${crypto.createHash("sha256").update(layer).digest("hex")}`).toBe(a.diffId);
    const listing = execFileSync("tar", ["-tvf", "-"], { input: layer }).toString();
    expect(listing).toMatch(/^-rwxr-xr-x root\/root +\d+ .* bin\/busybox$/m);
    expect(listing).toMatch(/^lrwxrwxrwx .* bin\/sh -> busybox$/m);
    expect(listing).toMatch(/^drwxrwxrwt .* tmp\/$/m);
    expect(listing).toMatch(/etc\/passwd$/m);
  });

  it("explains an unreachable runtime and keeps one channel per distinct endpoint", async () => {
    const cri = connectCri({ runtimeEndpoint: path.join(tmp, "nothing.sock"), timeoutMs: 2_000 });
    const err = await cri.version().catch((e: unknown) => e);
    cri.close();
    expect(err).toBeInstanceOf(CriError);
    expect(criErrorMessage(err)).toBe(
      `failed to query the container runtime version: container runtime is not reachable at unix://${tmp}/nothing.sock (connect ENOENT; is containerd running?)`,
    );
    const two = connectCri({ runtimeEndpoint: "unix:///run/a.sock", imageEndpoint: "/run/b.sock" });
    expect(two.channelCount).toBe(2);
    two.close();
    expect(() => connectCri({ runtimeEndpoint: "localhost:1234" })).toThrow(/not a unix socket path/);
  });
});

// ------------------------------------------------------------------------------------------------ tests

describe.skipIf(Boolean(unavailable))(`CRI client against a private containerd${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let ctrd: ContainerdHarness;
  let cri: CriClient;
  let cgroup: TestCgroup;
  let logRoot: string;
  let podCount = 0;

  /** A pod sandbox config with labels of this run and its own log directory. */
  function podConfig(name: string, extra: DeepPartial<PodSandboxConfig> = {}): DeepPartial<PodSandboxConfig> {
    const logDirectory = path.join(logRoot, `${name}-${++podCount}`);
    fs.mkdirSync(logDirectory, { recursive: true });
    return {
      metadata: { name, uid: `${name}-${podCount}`, namespace: "crane-test" },
      hostname: name,
      logDirectory,
      labels: { ...RUN_LABEL, "crane.test/pod": name },
      ...extra,
    };
  }

  // Pods of the running test, removed after it even when it fails.
  const pods = new Set<string>();
  async function runPod(config: DeepPartial<PodSandboxConfig>): Promise<string> {
    const id = await runPodSandbox(cri, config);
    pods.add(id);
    return id;
  }
  async function removePod(id: string) {
    pods.delete(id);
    await stopPodSandbox(cri, id);
    await removePodSandbox(cri, id);
  }
  afterEach(async () => {
    for (const id of [...pods]) await removePod(id);
  }, 60_000);

  beforeAll(async () => {
    ctrd = await startContainerd();
    cri = connectCri({ runtimeEndpoint: ctrd.socket, nodeName: "testnode" });
    cgroup = createTestCgroup(`crane-test-${process.pid}`);
    logRoot = path.join(ctrd.dir, "pod-logs");
  }, 120_000);

  afterAll(async () => {
    cri?.close();
    await ctrd?.stop();
    cgroup?.remove();
  }, 120_000);

  it("reports the runtime version", async () => {
    const v = await cri.version();
    expect(v.runtimeName).toBe("containerd");
    expect(v.runtimeApiVersion).toBe("v1");
    expect(cri.channelCount).toBe(1);
  });

  it("has the busybox and pause images and applies pull policies", async () => {
    const busybox = await imageStatus(cri, BUSYBOX_IMAGE);
    expect(busybox?.repoTags).toContain(BUSYBOX_IMAGE);
    expect(await imageStatus(cri, "busybox")).toBeDefined(); // short names normalize to docker.io/library
    expect((await listImages(cri)).flatMap((i) => i.repoTags)).toEqual(expect.arrayContaining([BUSYBOX_IMAGE, PAUSE_IMAGE]));
    expect(await ensureImage(cri, BUSYBOX_IMAGE, "IfNotPresent")).toEqual({ imageRef: busybox?.id, pulled: false });
    expect(await ensureImage(cri, BUSYBOX_IMAGE, "Never")).toEqual({ imageRef: busybox?.id, pulled: false });
    expect(await imageStatus(cri, "crane.local/absent:1")).toBeUndefined();
    await expect(ensureImage(cri, "crane.local/absent:1", "Never")).rejects.toThrow(
      'image "crane.local/absent:1" is not present on node testnode and pull policy is Never',
    );
  });

  it("runs a container under the job cgroup, with its exit code and its logs", async () => {
    const sandbox = podConfig("job1", { linux: { cgroupParent: cgroup.parent } });
    const pod = await runPod(sandbox);
    const status = await podSandboxStatus(cri, pod);
    expect(status?.status?.state).toBe(PodSandboxState.SANDBOX_READY);
    expect(status?.status?.network?.ip).toMatch(new RegExp(`^${ctrd.subnet.split(".").slice(0, 3).join("\\.")}\\.`));

    const id = await createContainer(
      cri,
      pod,
      {
        metadata: { name: "step1" },
        image: { image: BUSYBOX_IMAGE },
        command: ["sh", "-c", "echo hello; echo err >&2; exit 3"],
        logPath: "step1.log",
        labels: { ...RUN_LABEL, "crane.test/step": "1" },
      },
      sandbox,
    );
    await startContainer(cri, id);
    const exited = await waitContainerExit(cri, id, { waitMs: 15_000 });
    expect(exited.exitCode).toBe(3);
    expect(exited.logPath).toBe(path.join(sandbox.logDirectory!, "step1.log"));

    // stdout and stderr are copied to the log by separate readers: their relative order is not guaranteed.
    const lines = await readCriLog(exited.logPath);
    expect(lines).toHaveLength(2);
    expect(lines.map(({ stream, data, partial }) => ({ stream, data, partial }))).toEqual(
      expect.arrayContaining([
        { stream: "stdout", data: "hello", partial: false },
        { stream: "stderr", data: "err", partial: false },
      ]),
    );
    // Times are when the runtime read the output: after creation, but maybe before startedAt or after finishedAt.
    for (const line of lines) expect(line.timeNs).toBeGreaterThan(exited.createdAt);
    expect((await readCriLog(exited.logPath, { streams: ["stderr"] })).map((l) => l.data)).toEqual(["err"]);
    expect((await readCriLog(exited.logPath, { tail: 1, streams: ["stdout"] })).map((l) => l.data)).toEqual(["hello"]);
    const last = lines.reduce((a, b) => (a > b.timeNs ? a : b.timeNs), 0n);
    expect(await readCriLog(exited.logPath, { sinceNs: last + 1n })).toEqual([]);
    expect(await readCriLog(exited.logPath, { untilNs: exited.createdAt })).toEqual([]);

    // A second container in the same pod, limited, sits in a child cgroup of the job cgroup.
    const sleeper = await createContainer(
      cri,
      pod,
      {
        metadata: { name: "step2" },
        image: { image: BUSYBOX_IMAGE },
        command: ["sleep", "300"],
        logPath: "step2.log",
        labels: RUN_LABEL,
        linux: { resources: { memoryLimitInBytes: 64 * 1024 * 1024, cpuPeriod: 100_000, cpuQuota: 50_000 } },
      },
      sandbox,
    );
    await startContainer(cri, sleeper);
    const pid = await containerPid(cri, sleeper);
    expect(pid).toBeGreaterThan(0);
    const memoryDir = cgroupDirOf(pid!, "memory", cgroup.v2);
    expect(memoryDir).toContain(`${cgroup.parent}/`);
    if (cgroup.v2) {
      expect(fs.readFileSync(path.join(memoryDir, "memory.max"), "utf8").trim()).toBe(`${64 * 1024 * 1024}`);
      expect(fs.readFileSync(path.join(memoryDir, "cpu.max"), "utf8").trim()).toBe("50000 100000");
    } else {
      expect(fs.readFileSync(path.join(memoryDir, "memory.limit_in_bytes"), "utf8").trim()).toBe(`${64 * 1024 * 1024}`);
      const cpuDir = cgroupDirOf(pid!, "cpu", false);
      expect(fs.readFileSync(path.join(cpuDir, "cpu.cfs_quota_us"), "utf8").trim()).toBe("50000");
    }

    const running = await listContainers(cri, { podSandboxId: pod, state: ContainerState.CONTAINER_RUNNING });
    expect(running.map((c) => c.id)).toEqual([sleeper]);
    expect((await listContainers(cri, { labels: { "crane.test/step": "1" } })).map((c) => c.id)).toEqual([id]);

    await removeContainer(cri, id);
    expect(await containerStatus(cri, id)).toBeUndefined();
    await removePod(pod);
    expect(await podSandboxStatus(cri, pod)).toBeUndefined();
  }, 60_000);

  it("runs a host-network pod with the node's hostname and network", async () => {
    const sandbox = podConfig("hostnet", {
      hostname: "", // a host-network pod shares the node's UTS namespace
      linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } },
    });
    const pod = await runPod(sandbox);
    expect((await podSandboxStatus(cri, pod))?.status?.network?.ip ?? "").toBe("");
    const id = await createContainer(
      cri,
      pod,
      { metadata: { name: "main" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "300"], logPath: "main.log" },
      sandbox,
    );
    await startContainer(cri, id);
    const res = await execSync(cri, id, ["hostname"], { timeoutSeconds: 10 });
    expect(res.stdout.toString().trim()).toBe(os.hostname());
    const links = await execSync(cri, id, ["cat", "/proc/net/dev"], { timeoutSeconds: 10 });
    expect(links.stdout.toString()).toContain(ctrd.bridge); // sees the host's interfaces
    await removePod(pod);
  }, 60_000);

  it("execs commands in a running container, returns output and exit code, and hands out stream URLs", async () => {
    const sandbox = podConfig("exec");
    const pod = await runPod(sandbox);
    const id = await createContainer(
      cri,
      pod,
      {
        metadata: { name: "main" },
        image: { image: BUSYBOX_IMAGE },
        command: ["sleep", "infinity"],
        envs: [{ key: "CRANE_JOB_ID", value: "12" }],
        workingDir: "/tmp",
        logPath: "main.log",
      },
      sandbox,
    );
    await startContainer(cri, id);
    const res = await execSync(cri, id, ["sh", "-c", 'echo "$CRANE_JOB_ID $(pwd) $(hostname) $(id -u)"; echo oops >&2; exit 7']);
    expect(res).toEqual({ stdout: Buffer.from("12 /tmp exec 0\n"), stderr: Buffer.from("oops\n"), exitCode: 7 });
    expect(await getExecUrl(cri, id, ["sh"], { stdin: true, tty: true })).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/exec\//);
    expect(await getAttachUrl(cri, id, { stdout: true, stderr: true })).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/attach\//);
    await expect(getExecUrl(cri, id, ["sh"], { tty: true, stderr: true })).rejects.toThrow(/tty/);
    await removePod(pod);
  }, 60_000);

  it("follows a log while the container writes it, and loses nothing at exit", async () => {
    const sandbox = podConfig("follow");
    const pod = await runPod(sandbox);
    const logFile = path.join(sandbox.logDirectory!, "main.log");
    const seen: CriLogLine[] = [];
    const follower = followCriLog(logFile, { onLine: (l) => seen.push(l), pollMs: 50 });
    const id = await createContainer(
      cri,
      pod,
      {
        metadata: { name: "main" },
        image: { image: BUSYBOX_IMAGE },
        command: ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done; printf 'no newline'"],
        logPath: "main.log",
      },
      sandbox,
    );
    await startContainer(cri, id);
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
    expect((await waitContainerExit(cri, id, { waitMs: 15_000 })).exitCode).toBe(0);
    await follower.stop();
    expect(seen.map((l) => [l.data, l.partial])).toEqual([
      ["line1", false],
      ["line2", false],
      ["line3", false],
      ["no newline", true],
    ]);
    await removePod(pod);
  }, 60_000);

  it("names the failed operation and its job in errors", async () => {
    const sandbox = podConfig("errors");
    const pod = await runPod(sandbox);
    const err = await createContainer(cri, pod, { metadata: { name: "main" }, image: { image: "crane.local/absent:1" }, logPath: "main.log" }, sandbox, {
      subject: "job 12 step 2",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CriError);
    expect((err as CriError).message).toMatch(/^failed to create container for job 12 step 2: .*crane\.local\/absent:1/);
    await removePod(pod);
    await expect(startContainer(cri, "0123456789abcdef")).rejects.toThrow(/^failed to start container 0123456789ab: .*not found/);
  }, 60_000);

  it("tells whether the runtime streams container events", async () => {
    const { runtimeVersion } = await cri.version();
    const supported = await supportsContainerEvents(cri);
    if (runtimeVersion.startsWith("1.6")) expect(supported).toBe(false); // containerd 1.6: UNIMPLEMENTED
  });

  it("leaves no pods or containers behind", async () => {
    expect(await listPodSandboxes(cri, { labels: RUN_LABEL })).toEqual([]);
    expect(await listContainers(cri, { labels: RUN_LABEL })).toEqual([]);
  });
});

describe.skipIf(Boolean(unavailable))("test containerd harness", () => {
  it("brings pods back after a daemon crash, and stop() leaves no process, mount, bridge or directory", async () => {
    const ctrd = await startContainerd();
    const cri = connectCri({ runtimeEndpoint: ctrd.socket });
    const sandbox: DeepPartial<PodSandboxConfig> = {
      metadata: { name: "left", uid: "left", namespace: "crane-test" },
      hostname: "left",
      logDirectory: path.join(ctrd.dir, "left"),
    };
    const pod = await runPodSandbox(cri, sandbox);
    const id = await createContainer(
      cri,
      pod,
      { metadata: { name: "main" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "300"], logPath: "main.log" },
      sandbox,
    );
    await startContainer(cri, id);
    const pid = await containerPid(cri, id);
    const daemonPid = ctrd.pid;

    // The containers outlive the daemon; the restarted daemon finds them again.
    await ctrd.restart("SIGKILL");
    expect(ctrd.pid).not.toBe(daemonPid);
    expect((await listPodSandboxes(cri)).map((p) => [p.id, p.state])).toEqual([[pod, PodSandboxState.SANDBOX_READY]]);
    expect((await containerStatus(cri, id))?.status?.state).toBe(ContainerState.CONTAINER_RUNNING);
    expect(await containerPid(cri, id)).toBe(pid);

    // Leave the pod running on purpose (and the daemon dead): stop() must clean everything.
    process.kill(ctrd.pid, "SIGKILL");
    cri.close();
    await ctrd.stop();

    const alive = (p: number) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive(ctrd.pid)).toBe(false);
    expect(alive(pid!)).toBe(false);
    expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(ctrd.dir);
    expect(fs.existsSync(ctrd.dir)).toBe(false);
    expect(fs.existsSync(`/sys/class/net/${ctrd.bridge}`)).toBe(false);
  }, 120_000);
});
