// Container jobs end to end: the built executable (dist/crane) as a local cluster on a private containerd
// (test/harness), driven only through the user commands (ccon, cbatch, crun, cqueue, ccancel), with the
// runtime's own view (CRI, cgroups, network namespaces, mounts) checked where the job's footprint matters.
// Needs root, containerd/runc/ctr, busybox-static, CNI plugins and `npm run build`; skipped with the reason otherwise.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobCgroupPath } from "../../src/core/cgroup";
import { connectCri, type CriClient, listContainers, listPodSandboxes, podSandboxStatus } from "../../src/core/cri";
import { binaryMissingReason, finished, freePortBase, type RunResult, startCluster, type TestCluster } from "../harness/cluster";
import { type ContainerdHarness, containerdUnavailableReason, startContainerd } from "../harness/containerd";

const unavailable = binaryMissingReason() ?? containerdUnavailableReason();

// ------------------------------------------------------------------------------------------------ helpers

/** Polls `probe` until it returns a value other than undefined; fails naming `what` after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function describeRun(cmd: string, args: string[], r: RunResult): string {
  return `${cmd} ${args.join(" ")} -> exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** Runs a command that must succeed; returns its stdout. */
async function ok(c: TestCluster, cmd: string, args: string[], opts: Parameters<TestCluster["run"]>[2] = {}): Promise<string> {
  const r = await c.run(cmd, args, opts);
  if (r.code !== 0) throw new Error(describeRun(cmd, args, r));
  return r.stdout;
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

/** `ccon run -d ...` -> the container id "JOB.STEP". */
async function runDetached(c: TestCluster, cconArgs: string[]): Promise<{ id: string; jobId: number; stepId: number }> {
  const out = (await ok(c, "ccon", cconArgs)).trim();
  expect(out).toMatch(/^\d+\.\d+$/);
  const [jobId, stepId] = out.split(".").map(Number) as [number, number];
  return { id: out, jobId, stepId };
}

interface Inspected {
  status: string;
  reason?: string;
  exitCode?: number;
  nodes?: string[];
}

async function inspect(c: TestCluster, id: string): Promise<Inspected> {
  return JSON.parse(await ok(c, "ccon", ["inspect", id]));
}

/**
 * The step's status for polling. Undefined while ctld cannot find it: a job that just ended is briefly in
 * neither its active jobs nor its database (finishJob drops it before the save commits).
 */
async function statusOf(c: TestCluster, id: string): Promise<string | undefined> {
  const r = await c.run("ccon", ["inspect", id]);
  return r.code === 0 ? (JSON.parse(r.stdout) as Inspected).status : undefined;
}

const ACTIVE = ["Pending", "Configuring", "Starting", "Running", "Completing"];

/** The `ccon ps` table row of one container (`all`: with -a), or undefined. */
async function psRow(c: TestCluster, id: string, all: boolean): Promise<string | undefined> {
  const out = await ok(c, "ccon", all ? ["ps", "-a"] : ["ps"]);
  return lines(out).find((l) => l.split(/\s+/)[0] === id);
}

/** Directories of a job's cgroup in every hierarchy mounted under /sys/fs/cgroup (crane's and the runtime's). */
function jobCgroupDirsOnDisk(c: TestCluster, node: string, jobId: number): string[] {
  const rel = jobCgroupPath(`local-${c.port}`, node, jobId);
  const root = "/sys/fs/cgroup";
  const candidates = [path.join(root, rel), ...fs.readdirSync(root).map((h) => path.join(root, h, rel))];
  return candidates.filter((d) => fs.existsSync(d));
}

/** Mount points under the test containerd's directory (rootfs and shm of running pods and containers). */
function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => Boolean(p) && (p === dir || p!.startsWith(`${dir}/`)));
}

/** Named network namespaces holding an address of `subnet` (the test containerd's pod network), other runtimes' aside. */
function podNetnsIn(subnet: string): string[] {
  const prefix = `inet ${subnet.split(".").slice(0, 3).join(".")}.`;
  const names = fs.existsSync("/run/netns") ? fs.readdirSync("/run/netns") : [];
  return names
    .filter((ns) => {
      try {
        return execFileSync("ip", ["netns", "exec", ns, "ip", "-4", "-o", "addr"], { encoding: "utf8" }).includes(prefix);
      } catch {
        return false; // removed meanwhile
      }
    })
    .sort();
}

/** The network namespace file of a pod (from the runtime's verbose status), or "" for a host-network pod. */
async function podNetns(cri: CriClient, podId: string): Promise<string> {
  const st = await podSandboxStatus(cri, podId, { verbose: true });
  const info = JSON.parse(st?.info.info ?? "{}") as { runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } } };
  return info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === "network")?.path ?? "";
}

/** Stops the cluster and removes the empty node cgroups it leaves in hierarchies crane does not manage. */
async function stopCluster(c: TestCluster): Promise<void> {
  await c.stop();
  removeNodeCgroups(c.nodes);
}

/**
 * `crane down --purge` removes the nodes' cgroups only in crane's own hierarchies; runc also created them in
 * the others (name=systemd, the hybrid unified cgroup2). Removes those, when empty.
 */
function removeNodeCgroups(nodes: string[]): void {
  const root = "/sys/fs/cgroup";
  for (const h of fs.readdirSync(root)) {
    for (const n of nodes) {
      const dir = path.join(root, h, "crane", n);
      try {
        if (fs.existsSync(dir)) fs.rmdirSync(dir);
      } catch {
        // not empty: something else still uses it
      }
    }
  }
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 3_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

// A container that ends at once (exit 0) on SIGTERM, so stops and cancels need not wait for the grace period.
const STOPPABLE_SLEEP = ["sh", "-c", 'trap "echo got-sigterm; exit 0" TERM; sleep 600 & wait'];

// ------------------------------------------------------------------------------------------------ tests

describe.skipIf(unavailable)("container jobs on a real cluster and containerd", () => {
  let ctrd: ContainerdHarness;
  let cri: CriClient;

  beforeAll(async () => {
    ctrd = await startContainerd();
    cri = connectCri({ runtimeEndpoint: ctrd.socket, timeoutMs: 10_000 });
  });

  afterAll(async () => {
    cri?.close();
    await ctrd?.stop();
  });

  /** Pods and containers crane made for a job, as the runtime sees them. */
  async function runtimeFootprint(jobId: number) {
    const labels = { "crane.job": String(jobId) };
    return { pods: await listPodSandboxes(cri, { labels }), containers: await listContainers(cri, { labels }) };
  }

  describe("one node", () => {
    let c: TestCluster;
    let node: string;
    let work: string;

    beforeAll(async () => {
      c = await startCluster({ runtimeEndpoint: ctrd.socket });
      node = c.nodes[0]!;
      work = fs.mkdtempSync(path.join(os.tmpdir(), "crane-ccon-"));
      fs.chmodSync(work, 0o755);
    });

    afterAll(async () => {
      if (c) await stopCluster(c);
      if (work) fs.rmSync(work, { recursive: true, force: true });
      // `crane down --purge` must not leave any pod or container in the runtime.
      if (cri) {
        expect((await listPodSandboxes(cri)).map((p) => p.labels)).toEqual([]);
        expect((await listContainers(cri)).map((x) => x.labels)).toEqual([]);
      }
    });

    it("ccon run streams the container's output and exits with its exit code (--rm accepted, as docker's)", async () => {
      const r = await c.run("ccon", ["run", "--rm", "busybox", "sh", "-c", "echo hi; echo oops >&2; exit 7"]);
      expect(r.code, describeRun("ccon", ["run"], r)).toBe(7);
      expect(r.stdout).toBe("hi\n");
      expect(r.stderr).toContain("oops");
    });

    it("shows the whole output of a container that ended before the client connected", async () => {
      const expected = Array.from({ length: 200 }, (_, i) => String(i + 1));
      // Foreground: seq is done long before ccon has found where the step runs.
      const fg = await ok(c, "ccon", ["run", "busybox", "seq", "1", "200"]);
      expect(lines(fg)).toEqual(expected);
      // Detached, read only once the job is over.
      const { id, jobId } = await runDetached(c, ["run", "-d", "busybox", "seq", "1", "200"]);
      await c.waitJob(jobId, (j) => j.status === "Completed");
      expect(lines(await ok(c, "ccon", ["logs", id]))).toEqual(expected);
      expect(lines(await ok(c, "ccon", ["logs", "--tail", "3", id]))).toEqual(["198", "199", "200"]);
    });

    it("ccancel --signal USR1 JOB.STEP reaches the container's process, which goes on running", async () => {
      const script = 'trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.1; done';
      const { id, jobId } = await runDetached(c, ["run", "-d", "busybox", "sh", "-c", script]);
      await waitFor("the trap to be set", async () => lines(await ok(c, "ccon", ["logs", id])).includes("ready") || undefined);
      expect(await ok(c, "ccancel", ["--signal", "USR1", id])).toContain(`Step ${id} sent SIGUSR1`);
      await waitFor("the trap to run", async () => lines(await ok(c, "ccon", ["logs", id])).includes("got-usr1") || undefined);
      expect(await statusOf(c, id)).toBe("Running");
      await ok(c, "ccancel", [String(jobId)]);
    });

    it("run -d, ps, logs (--tail, -f) and stop of a running container", async () => {
      const script = 'trap "echo got-sigterm; exit 0" TERM; i=0; while true; do i=$((i+1)); echo line$i; sleep 0.1; done';
      const { id, jobId } = await runDetached(c, ["run", "-d", "busybox", "sh", "-c", script]);

      const row = await waitFor("a RUNNING ps row", async () => {
        const l = await psRow(c, id, false);
        return l?.includes("RUNNING") ? l : undefined;
      });
      expect(row).toContain("docker.io/library/busybox:latest");
      expect(row).toContain(node);
      expect(lines(await ok(c, "ccon", ["ps", "-q"]))).toContain(id);

      // Without -f, logs prints what is there and returns while the container keeps running.
      const first = await waitFor("three lines of output", async () => {
        const out = lines(await ok(c, "ccon", ["logs", id], { timeoutMs: 10_000 }));
        return out.length >= 3 ? out : undefined;
      });
      expect(first.slice(0, 3)).toEqual(["line1", "line2", "line3"]);
      first.forEach((l, i) => expect(l).toBe(`line${i + 1}`));

      const tail = lines(await ok(c, "ccon", ["logs", "--tail", "2", id]));
      expect(tail).toHaveLength(2);
      const n = Number(tail[0]!.replace("line", ""));
      expect(n).toBeGreaterThanOrEqual(first.length - 1);
      expect(tail).toEqual([`line${n}`, `line${n + 1}`]);

      // A follower started now keeps streaming until the stop ends the container.
      const follower = c.run("ccon", ["logs", "-f", id], { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 700));
      expect(await ok(c, "ccon", ["stop", id])).toContain(`Container ${id} stopped successfully`);
      const stopped = await waitFor(
        "the step to end",
        async () => {
          const s = await statusOf(c, id);
          return s === undefined || ACTIVE.includes(s) ? undefined : s;
        },
        15_000,
        100,
      );
      expect(stopped).toBe("Cancelled");

      const followed = await follower;
      expect(followed.code, describeRun("ccon", ["logs", "-f", id], followed)).toBe(0);
      const all = lines(followed.stdout);
      expect(all.at(-1)).toBe("got-sigterm");
      expect(all.length).toBeGreaterThan(n + 2);
      all.slice(0, -1).forEach((l, i) => expect(l).toBe(`line${i + 1}`));

      // Its only container step was stopped: the job is over too, and then ps (running jobs only) drops it.
      expect((await c.waitJob(jobId, (j) => !ACTIVE.includes(j.status))).status).toBe("Cancelled");
      expect(await psRow(c, id, false)).toBeUndefined();
      expect(await psRow(c, id, true)).toContain("CANCELLED");
    });

    it("ccon stop -t N: SIGTERM, then SIGKILL after N seconds for a container that ignores SIGTERM", async () => {
      const script = 'trap "echo ignored-sigterm" TERM; while true; do sleep 0.2; done';
      const { id, jobId, stepId } = await runDetached(c, ["run", "-d", "busybox", "sh", "-c", script]);
      await waitFor("the container to run", async () => ((await statusOf(c, id)) === "Running" ? true : undefined));
      expect(await ok(c, "ccon", ["stop", "-t", "1", id])).toContain(`Container ${id} stopped successfully`);
      const status = await waitFor(
        "the step to end",
        async () => {
          const s = await statusOf(c, id);
          return s !== undefined && !ACTIVE.includes(s) ? s : undefined;
        },
        30_000,
      );
      expect(status).toBe("Cancelled");
      // The grace asked for reached the node's stop of the container (CRI StopContainer timeout).
      const supervisorLog = path.join(c.dir, "craned", node, "supervisor.log");
      expect(fs.readFileSync(supervisorLog, "utf8")).toContain(`step ${jobId}.${stepId}: stopping: Cancelled (SIGKILL after 1 s)`);
      expect(lines(await ok(c, "ccon", ["logs", id]))).toContain("ignored-sigterm");
    });

    it("exec into a container whose job is still pending says so, and why", async () => {
      const busy = await runDetached(c, ["-c", "4", "run", "-d", "busybox", ...STOPPABLE_SLEEP]);
      const waiting = await runDetached(c, ["-c", "4", "run", "-d", "busybox", "true"]);
      await c.waitJob(waiting.jobId, (j) => j.status === "Pending" && j.pending_reason === "Resource");
      const r = await c.run("ccon", ["exec", waiting.id, "true"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`Cannot exec into container ${waiting.id}: its job is still pending (Resource)`);
      await ok(c, "ccancel", [String(waiting.jobId), String(busy.jobId)]);
      await c.waitJob(busy.jobId, finished, 30_000);
    });

    it("logs -f follows a container until it ends by itself", async () => {
      const { id, jobId } = await runDetached(c, ["run", "-d", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo n$i; sleep 0.3; done"]);
      const r = await c.run("ccon", ["logs", "-f", id], { timeoutMs: 30_000 });
      expect(r.code, describeRun("ccon", ["logs", "-f", id], r)).toBe(0);
      expect(lines(r.stdout)).toEqual(["n1", "n2", "n3", "n4", "n5"]);
      expect((await c.waitJob(jobId, (j) => j.status === "Completed")).exit_code).toBe(0);
    });

    it("a cbatch --pod script runs container steps and a crun step in one allocation", async () => {
      const data = path.join(work, "data");
      fs.mkdirSync(data);
      const script = path.join(work, "pipeline.sh");
      fs.writeFileSync(
        script,
        [
          "#!/bin/sh",
          'echo "batch job=$CRANE_JOB_ID"',
          `ccon run -v ${data}:/data busybox sh -c 'echo written-by-$CRANE_JOB_ID > /data/result.txt; cat /data/result.txt'`,
          'echo "write-rc=$?"',
          "ccon run busybox hostname",
          'echo "hostname-rc=$?"',
          `crun sh -c 'echo crun-says-hi; cat ${data}/result.txt'`,
          'echo "crun-rc=$?"',
          "",
        ].join("\n"),
      );
      const out = await ok(c, "cbatch", ["--pod", "--pod-name", "pipe", "-o", path.join(work, "batch-%j.out"), script], { cwd: work });
      const jobId = Number(/(\d+)/.exec(out)?.[1]);
      expect(jobId).toBeGreaterThan(0);

      const done = await c.waitJob(jobId, (j) => !ACTIVE.includes(j.status), 60_000);
      const output = fs.readFileSync(path.join(work, `batch-${jobId}.out`), "utf8");
      expect(done.status, output).toBe("Completed");
      expect(done.nodes).toEqual([node]);

      const steps = new Map(done.steps.map((s) => [s.step_id, s]));
      expect([...steps.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
      for (const id of [2, 3, 4]) {
        expect(steps.get(id)!.status).toBe("Completed");
        expect(steps.get(id)!.nodes).toEqual([node]);
      }
      // Steps 2 and 3 are containers, step 4 (crun) is a plain process step.
      const listed = lines(await ok(c, "ccon", ["ps", "-a", "-q"])).filter((id) => id.startsWith(`${jobId}.`));
      expect(listed.sort()).toEqual([`${jobId}.2`, `${jobId}.3`]);
      for (const id of listed) expect((await inspect(c, id)).status).toBe("Completed");
      expect((steps.get(4) as unknown as { type: string }).type).not.toBe("Container");

      // Container outputs, served by the node: the bind mount was written, the host name comes from the pod name.
      expect(lines(await ok(c, "ccon", ["logs", `${jobId}.2`]))).toEqual([`written-by-${jobId}`]);
      expect(fs.readFileSync(path.join(data, "result.txt"), "utf8")).toBe(`written-by-${jobId}\n`);
      expect(lines(await ok(c, "ccon", ["logs", `${jobId}.3`]))).toEqual([`pipe-${node}`]);

      // The script's own output and the crun step's output are in the batch output file.
      expect(lines(output)).toEqual([
        `batch job=${jobId}`,
        `written-by-${jobId}`,
        "write-rc=0",
        `pipe-${node}`,
        "hostname-rc=0",
        "crun-says-hi",
        `written-by-${jobId}`,
        "crun-rc=0",
      ]);
    });

    it("refuses a container step asking beyond the job's allocation or outside its nodes", async () => {
      const script = path.join(work, "beyond.sh");
      fs.writeFileSync(
        script,
        [
          "#!/bin/sh",
          "ccon -c 4 run busybox true",
          'echo "cpu-rc=$?"',
          "ccon --mem 1G run busybox true",
          'echo "mem-rc=$?"',
          "ccon -w othernode run busybox true",
          'echo "node-rc=$?"',
          "ccon -c 1 --mem 128M run busybox echo fits",
          'echo "fits-rc=$?"',
          "",
        ].join("\n"),
      );
      const out = await ok(c, "cbatch", ["--pod", "-c", "1", "--mem", "256M", "-o", path.join(work, "beyond-%j.out"), script], { cwd: work });
      const jobId = Number(/(\d+)/.exec(out)?.[1]);
      const done = await c.waitJob(jobId, (j) => j.status === "Completed" || j.status === "Failed", 60_000);
      const output = fs.readFileSync(path.join(work, `beyond-${jobId}.out`), "utf8");
      expect(done.status, output).toBe("Completed");
      const text = lines(output);

      const cpuError = text[text.indexOf("cpu-rc=4") - 1];
      expect(cpuError, output).toMatch(/exceeds/);
      expect(cpuError).toMatch(/4 CPUs per node > job's 1/);
      const memError = text[text.indexOf("mem-rc=4") - 1];
      expect(memError, output).toMatch(/exceeds/);
      expect(memError).toMatch(/memory/);
      const nodeError = text[text.indexOf("node-rc=4") - 1];
      expect(nodeError, output).toMatch(/Not enough nodes/i);
      expect(nodeError).toContain('"othernode"');
      expect(text.slice(-2)).toEqual(["fits", "fits-rc=0"]);
      // Only the step that fits was created.
      expect(done.steps.map((s) => s.step_id).sort()).toEqual([0, 1, 2]);
    });

    it("refuses ccon run inside a job that is not a container job", async () => {
      const out = await ok(c, "cbatch", ["-o", path.join(work, "plain-%j.out"), "--wrap", 'ccon run busybox echo never; echo "rc=$?"'], { cwd: work });
      const jobId = Number(/(\d+)/.exec(out)?.[1]);
      const done = await c.waitJob(jobId, (j) => j.status === "Completed" || j.status === "Failed");
      const output = fs.readFileSync(path.join(work, `plain-${jobId}.out`), "utf8");
      expect(done.status, output).toBe("Completed");
      expect(output).toMatch(new RegExp(`job ${jobId} is not a container job`));
      expect(output).toContain("cbatch --pod");
      expect(output).not.toContain("never");
      expect(lines(output).at(-1)).toBe("rc=4");
      expect(done.steps.map((s) => s.step_id)).toEqual([1]);
    });

    it("a missing image fails the job with a reason naming the image", async () => {
      const r = await c.run("ccon", ["run", "--pull-policy", "Never", "busybox:nope", "true"]);
      expect(r.code, describeRun("ccon", ["run"], r)).toBe(4);
      expect(r.stderr).toContain("busybox:nope");

      const id = lines(await ok(c, "ccon", ["ps", "-a", "-q"]))[0]!;
      const jobId = Number(id.split(".")[0]);
      const failed = await c.waitJob(jobId, (j) => j.status === "Failed");
      expect(failed.reason).toContain('"docker.io/library/busybox:nope" is not present on node');

      const info = await inspect(c, id);
      expect(info.status).toBe("Failed");
      expect(info.reason).toContain('image "docker.io/library/busybox:nope" is not present on node');
      expect(info.reason).toContain("pull policy is Never");

      const row = await psRow(c, id, true);
      expect(row).toContain("docker.io/library/busybox:nope");
      expect(row).toContain("FAILED");
      expect(row).toContain("failed to prepare image");
      const ps = JSON.parse(await ok(c, "ccon", ["ps", "-a", "--json"])) as { data: { container: string; reason: string; status: string }[] };
      const entry = ps.data.find((d) => d.container === id);
      expect(entry?.status).toBe("Failed");
      expect(entry?.reason).toContain("busybox:nope");
    });

    it("ccancel of a running container job leaves no pod, container, cgroup, netns or mount behind", async () => {
      const baseline = async () => ({
        pods: (await listPodSandboxes(cri)).length,
        containers: (await listContainers(cri)).length,
        mounts: mountsUnder(ctrd.dir).length,
      });
      const before = await baseline();
      const netnsBefore = podNetnsIn(ctrd.subnet);

      const { id, jobId } = await runDetached(c, ["run", "-d", "busybox", ...STOPPABLE_SLEEP]);
      await waitFor("the container to run", async () => ((await statusOf(c, id)) === "Running" ? true : undefined));

      const during = await runtimeFootprint(jobId);
      expect(during.pods).toHaveLength(1);
      expect(during.pods[0]!.labels).toMatchObject({ "crane.cluster": `local-${c.port}`, "crane.job": String(jobId), "crane.node": node, "crane.step": "0" });
      expect(during.containers).toHaveLength(1);
      expect(during.containers[0]!.labels).toMatchObject({ "crane.job": String(jobId), "crane.node": node, "crane.step": "1" });
      const netns = await podNetns(cri, during.pods[0]!.id);
      expect(netns).toMatch(/^\/(var\/)?run\/netns\//);
      expect(podNetnsIn(ctrd.subnet)).toEqual([...netnsBefore, path.basename(netns)].sort());
      const cgroups = jobCgroupDirsOnDisk(c, node, jobId);
      expect(cgroups.length).toBeGreaterThan(0);
      expect((await baseline()).mounts).toBeGreaterThan(before.mounts);

      expect(await ok(c, "ccancel", [String(jobId)])).toContain(`Job ${jobId} cancelled`);
      const ended = await c.waitJob(jobId, (j) => j.status === "Cancelled", 30_000);
      expect(ended.steps.every((s) => s.status === "Cancelled")).toBe(true);

      const after = await waitFor(
        "the job's footprint to disappear",
        async () => {
          const now = await baseline();
          const mine = await runtimeFootprint(jobId);
          const clean = mine.pods.length === 0 && mine.containers.length === 0 && jobCgroupDirsOnDisk(c, node, jobId).length === 0 && !fs.existsSync(netns);
          return clean ? now : undefined;
        },
        5_000,
      );
      expect(after).toEqual(before);
      expect(jobCgroupDirsOnDisk(c, node, jobId)).toEqual([]);
      expect(podNetnsIn(ctrd.subnet)).toEqual(netnsBefore);
    });

    it("--network host: the container has the machine's host name", async () => {
      const out = await ok(c, "ccon", ["run", "--network", "host", "busybox", "hostname"]);
      expect(out.trim()).toBe(os.hostname());
      // and a pod network container does not
      const podOut = await ok(c, "ccon", ["run", "--name", "named", "busybox", "hostname"]);
      expect(podOut.trim()).toBe(`named-${node}`);
    });

    it("publishes a container port on the node (-p HOST:CONTAINER)", async () => {
      const hostPort = await freePortBase(1);
      const { id, jobId } = await runDetached(c, ["run", "-d", "-p", `${hostPort}:8080`, "busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"]);
      await waitFor("the web server to run", async () => ((await statusOf(c, id)) === "Running" ? true : undefined));
      expect(await ok(c, "ccon", ["pods"])).toMatch(new RegExp(`^${jobId}\\s.*RUNNING\\s+${hostPort}:8080\\s`, "m"));

      // CNI portmap DNATs loopback too (it marks 127.0.0.1 traffic for masquerading), so 127.0.0.1 works here.
      const res = await waitFor(
        "an HTTP answer on the published port",
        async () => {
          try {
            return await httpGet(`http://127.0.0.1:${hostPort}/passwd`);
          } catch {
            return undefined; // the server may still be binding
          }
        },
        15_000,
        250,
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/^root:/m);

      // httpd as PID 1 ignores SIGTERM: the cancel ends it with SIGKILL after the grace period.
      await ok(c, "ccancel", [String(jobId)]);
      await c.waitJob(jobId, (j) => j.status === "Cancelled", 30_000);
      await expect(httpGet(`http://127.0.0.1:${hostPort}/passwd`)).rejects.toThrow();
    });
  });

  describe("two nodes", () => {
    let c: TestCluster;

    beforeAll(async () => {
      c = await startCluster({ runtimeEndpoint: ctrd.socket, nodes: 2 });
    });

    afterAll(async () => {
      if (c) await stopCluster(c);
      if (cri) expect((await listPodSandboxes(cri)).map((p) => p.labels)).toEqual([]);
    });

    it("ccon -N 2 run streams the output of both nodes' containers", async () => {
      const out = await ok(c, "ccon", ["-N", "2", "run", "busybox", "hostname"]);
      const names = lines(out).sort();
      expect(names).toHaveLength(2);
      const jobId = Number(/^job-(\d+)-/.exec(names[0]!)?.[1]);
      expect(names).toEqual(c.nodes.map((n) => `job-${jobId}-${n}`).sort());
      const done = await c.waitJob(jobId, (j) => j.status === "Completed");
      expect(done.nodes.sort()).toEqual([...c.nodes].sort());
      const pod = done.steps.find((s) => s.step_id === 0)!;
      expect(pod.nodes.sort()).toEqual([...c.nodes].sort());
      expect(pod.status).toBe("Completed");
    });

    it("a two-node container job has one pod per node", async () => {
      const { id, jobId } = await runDetached(c, ["-N", "2", "run", "-d", "busybox", "sh", "-c", `hostname; ${STOPPABLE_SLEEP[2]}`]);
      await waitFor("the containers to run", async () => ((await statusOf(c, id)) === "Running" ? true : undefined));

      const { pods, containers } = await runtimeFootprint(jobId);
      expect(pods.map((p) => p.labels["crane.node"]).sort()).toEqual([...c.nodes].sort());
      expect(containers.map((x) => x.labels["crane.node"]).sort()).toEqual([...c.nodes].sort());
      expect(new Set(containers.map((x) => x.podSandboxId))).toEqual(new Set(pods.map((p) => p.id)));
      for (const n of c.nodes) {
        const out = await waitFor(`output on ${n}`, async () => {
          const text = (await ok(c, "ccon", ["logs", "-n", n, id])).trim();
          return text ? text : undefined;
        });
        expect(out).toBe(`job-${jobId}-${n}`);
      }
      // Without --target-node, logs of a multi-node container must say which nodes there are.
      const ambiguous = await c.run("ccon", ["logs", id]);
      expect(ambiguous.code).not.toBe(0);
      expect(ambiguous.stderr).toContain("--target-node");

      await ok(c, "ccancel", [String(jobId)]);
      await c.waitJob(jobId, (j) => j.status === "Cancelled", 30_000);
      await waitFor("both pods to be removed", async () => ((await runtimeFootprint(jobId)).pods.length === 0 ? true : undefined), 15_000);
      for (const n of c.nodes) expect(jobCgroupDirsOnDisk(c, n, jobId)).toEqual([]);
    });
  });
});
