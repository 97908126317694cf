// Seconds from `ccon run` to a running container, against a private containerd and a real crane cluster,
// beside the raw CRI calls alone measured in the same run. Prints one JSON object (medians and p95, ms).
//   npm run bench:ccon -- [--runs 10]
// Needs root, containerd, runc and a built dist/crane.
import path from "node:path";
import { BUSYBOX_IMAGE, connectCri, createContainer, destroyPodSandbox, runPodSandbox, startContainer } from "../src/core/cri";
import { JobStatus } from "../src/core/generated/crane/crane";
import { ctldClient, unary } from "../src/core/rpc";
import { finished, startCluster, type TestCluster } from "../test/harness/cluster";
import { startContainerd } from "../test/harness/containerd";

const runs = (() => {
  const i = process.argv.indexOf("--runs");
  return i > 0 ? Number(process.argv[i + 1]) : 10;
})();

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => Number(s[Math.min(s.length - 1, Math.floor(s.length * p))]!.toFixed(1));
  return { median: at(0.5), p95: at(0.95), n: s.length };
}

/** Time from starting `ccon ...` until the step is Running, polled with `cqueue --json`. */
async function untilRunning(cluster: TestCluster, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ ms: number; id: string }> {
  const t0 = performance.now();
  const r = await cluster.run("ccon", args, { env });
  if (r.code !== 0) throw new Error(`ccon ${args.join(" ")} failed: ${r.stderr}`);
  const id = r.stdout.trim();
  const [jobId, stepId] = id.split(".").map(Number);
  const client = ctldClient("127.0.0.1", cluster.port);
  try {
    for (;;) {
      const q = await unary(client, client.queryJobsInfo, {
        jobIds: [{ jobId: jobId!, stepIds: [] }],
        states: [],
        users: [],
        partitions: [],
        names: [],
        types: [],
        includeCompleted: true,
        limit: 1,
        nodes: [],
      });
      const step = q.jobs[0]?.steps.find((s) => s.stepId === stepId);
      if (step?.status === JobStatus.Running) return { ms: performance.now() - t0, id };
      if (step && [JobStatus.Failed, JobStatus.Cancelled, JobStatus.Completed].includes(step.status))
        throw new Error(`step ${id} ended ${JobStatus[step.status]}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    client.close();
  }
}

async function main() {
  const containerd = await startContainerd();
  const cluster = await startCluster({ runtimeEndpoint: containerd.socket });
  const cri = connectCri({ runtimeEndpoint: containerd.socket, timeoutMs: 30_000 });
  const newJob: number[] = [];
  const appended: number[] = [];
  const foreground: number[] = [];
  const rawNew: number[] = [];
  const rawAppend: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const job = await untilRunning(cluster, ["run", "-d", "busybox", "sleep", "300"]);
      newJob.push(job.ms);
      const jobId = job.id.split(".")[0]!;
      appended.push((await untilRunning(cluster, ["run", "-d", "busybox", "sleep", "300"], { CRANE_JOB_ID: jobId })).ms);
      await cluster.run("ccancel", [jobId]);
      // `sleep` as PID 1 ignores SIGTERM: the job holds its CPUs for the stop grace. Measure the next run on a free node.
      await cluster.waitJob(Number(jobId), finished, 60_000);

      const t0 = performance.now();
      const fg = await cluster.run("ccon", ["run", "busybox", "true"]);
      if (fg.code !== 0) throw new Error(`foreground run failed: ${fg.stderr}`);
      foreground.push(performance.now() - t0);

      const podConfig = {
        metadata: { name: `bench-${i}`, uid: `bench-${i}`, namespace: "bench", attempt: 0 },
        logDirectory: path.join(containerd.dir, "bench-logs"),
        linux: {},
      };
      const c = { metadata: { name: "c", attempt: 0 }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "300"], logPath: `c${i}.log` };
      const r0 = performance.now();
      const pod = await runPodSandbox(cri, podConfig);
      const id1 = await createContainer(cri, pod, c, podConfig);
      await startContainer(cri, id1);
      rawNew.push(performance.now() - r0);
      const r1 = performance.now();
      const id2 = await createContainer(cri, pod, { ...c, metadata: { name: "d", attempt: 0 }, logPath: `d${i}.log` }, podConfig);
      await startContainer(cri, id2);
      rawAppend.push(performance.now() - r1);
      await destroyPodSandbox(cri, pod);
    }
  } finally {
    cri.close();
    await cluster.stop();
    await containerd.stop();
  }
  const sNew = stats(newJob);
  const sApp = stats(appended);
  const sRawNew = stats(rawNew);
  const sRawApp = stats(rawAppend);
  console.log(
    JSON.stringify({
      runs,
      newJobUntilRunningMs: sNew,
      rawRunPodCreateStartMs: sRawNew,
      newJobOverheadMs: Number((sNew.median - sRawNew.median).toFixed(1)),
      appendedStepUntilRunningMs: sApp,
      rawCreateStartMs: sRawApp,
      appendedStepOverheadMs: Number((sApp.median - sRawApp.median).toFixed(1)),
      foregroundRunTrueWallMs: stats(foreground),
    }),
  );
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
