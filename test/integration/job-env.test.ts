// What a job's processes see and get on a real local cluster with simulated GPUs (`crane up --gpus 2`): only
// documented CRANE_* variables, their own GPU devices, and a log follow that waits for a step still on its way.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobStatus, type StepLogChunk } from "../../src/core/generated/crane/crane";
import { deriveNodeKey } from "../../src/core/auth/node-credential";
import { cranedClient } from "../../src/core/rpc";
import { binaryMissingReason, finished, startCluster, submit, waitFor, type TestCluster } from "../harness/cluster";

const skip = !!binaryMissingReason();

// The variables a job may see (backend-behaviour.md section 7, plus CRANE_STEP_ID which we do set).
const DOCUMENTED = new Set([
  "CRANE_JOB_ID",
  "CRANE_STEP_ID",
  "CRANE_JOB_NAME",
  "CRANE_JOB_NODELIST",
  "CRANE_JOB_NUM_NODES",
  "CRANE_NTASKS",
  "CRANE_NTASKS_PER_NODE",
  "CRANE_CPUS_PER_TASK",
  "CRANE_CPUS_ON_NODE",
  "CRANE_MEM_PER_NODE",
  "CRANE_MEM_PER_CPU",
  "CRANE_JOB_PARTITION",
  "CRANE_JOB_ACCOUNT",
  "CRANE_JOB_QOS",
  "CRANE_SUBMIT_DIR",
  "CRANE_SUBMIT_HOST",
  "CRANE_NODEID",
  "CRANE_CLUSTER_NAME",
  "CRANE_GPUS",
  "CRANE_JOB_END_TIME",
  "CRANE_TIMELIMIT",
  "CRANE_PROCID",
  "CRANE_LOCALID",
]);

describe.skipIf(skip)("a job's environment and devices on a node with two GPUs", () => {
  let cluster: TestCluster;
  let work: string;

  beforeAll(async () => {
    cluster = await startCluster({ extraArgs: ["--gpus", "2"] });
    work = path.join(cluster.dir, "work");
    fs.mkdirSync(work);
  });

  afterAll(async () => {
    if (cluster) await cluster.stop();
  });

  it("a batch script sees only documented CRANE_* variables", async () => {
    const id = await submit(cluster, ["-o", "env.out", "--wrap", "env"], work);
    expect((await cluster.waitJob(id, finished)).status).toBe("Completed");
    const names = fs
      .readFileSync(path.join(work, "env.out"), "utf8")
      .split("\n")
      .map((l) => l.split("=")[0]!)
      .filter((n) => n.startsWith("CRANE_"));
    expect(names).toContain("CRANE_JOB_ID");
    // cbatch exports the submitter's environment (CRANE_CONFIG of the test cluster, for one): those are the user's.
    expect(names.filter((n) => !DOCUMENTED.has(n) && cluster.env[n] === undefined)).toEqual([]);
  });

  it("gives two 1-GPU jobs running side by side different devices", async () => {
    const marker = path.join(work, "release");
    const script = (name: string) => `echo "$CUDA_VISIBLE_DEVICES" > ${name}; while [ ! -e ${marker} ]; do sleep 0.1; done`;
    const a = await submit(cluster, ["--gres", "gpu:1", "--wrap", script("a.gpu")], work);
    const b = await submit(cluster, ["--gres", "gpu:1", "--wrap", script("b.gpu")], work);
    const read = (f: string) => (fs.existsSync(path.join(work, f)) ? fs.readFileSync(path.join(work, f), "utf8").trim() : "");
    await waitFor("both jobs to report their GPU", () => read("a.gpu") !== "" && read("b.gpu") !== "", 30_000);
    expect([read("a.gpu"), read("b.gpu")].sort()).toEqual(["0", "1"]);

    // Both GPUs are taken: a third GPU job waits; once a and b end it runs on a freed device.
    const c = await submit(cluster, ["--gres", "gpu:1", "--wrap", script("c.gpu")], work);
    await cluster.waitJob(c, (j) => j.status === "Pending" && j.pending_reason === "Resource");
    fs.writeFileSync(marker, "");
    for (const id of [a, b, c]) expect((await cluster.waitJob(id, finished)).status).toBe("Completed");
    expect(["0", "1"]).toContain(read("c.gpu"));
  });

  it("gives two 1-GPU steps of a 2-GPU job different devices", async () => {
    const step = (name: string) => `crun --gres gpu:1 sh -c 'echo "$CUDA_VISIBLE_DEVICES" > ${name}; sleep 2' &`;
    const id = await submit(cluster, ["--gres", "gpu:2", "--wrap", `${step("s1.gpu")} ${step("s2.gpu")} wait; echo "$CUDA_VISIBLE_DEVICES" > all.gpu`], work);
    expect((await cluster.waitJob(id, finished)).status).toBe("Completed");
    const read = (f: string) => fs.readFileSync(path.join(work, f), "utf8").trim();
    expect([read("s1.gpu"), read("s2.gpu")].sort()).toEqual(["0", "1"]);
    expect(read("all.gpu")).toBe("0,1");
  });

  it("a node asked to follow a step it does not know yet waits for it instead of ending the stream", async () => {
    // The next job's id, so that the node can be asked about its step before ctld dispatched it.
    const probe = await submit(cluster, ["--wrap", "true"], work);
    const next = probe + 1;
    const config = YAML.parse(fs.readFileSync(cluster.configFile, "utf8")) as { CranedListenPort: number };
    // Only ctld may call a craned: present the node's key as ctld does.
    const node = cluster.nodes[0]!;
    const key = deriveNodeKey(fs.readFileSync(path.join(cluster.dir, "cluster.key"), "utf8").trim(), node);
    const craned = cranedClient(`127.0.0.1:${config.CranedListenPort}`, { name: node, key });
    try {
      const lines: string[] = [];
      const stream = craned.readStepLog({
        jobId: next,
        stepId: 1,
        node: "",
        follow: true,
        tail: -1,
        sinceMs: 0,
        untilMs: 0,
        awaitStepMs: 30_000,
        resumeCursors: {},
      });
      const ended = new Promise<void>((resolve, reject) => {
        stream.on("data", (c: StepLogChunk) => lines.push(...c.lines.map((l) => Buffer.from(l.data).toString())));
        stream.on("end", resolve);
        stream.on("error", reject);
      });
      await new Promise((r) => setTimeout(r, 300)); // the request reaches the node before the job exists
      const r = await cluster.run("crun", ["sh", "-c", "echo first; sleep 0.5; echo second"], { cwd: work });
      expect(r.stdout).toBe("first\nsecond\n");
      await ended;
      expect(lines).toEqual(["first", "second"]);
      const job = await cluster.waitJob(next, finished);
      expect(job.status).toBe(JobStatus[JobStatus.Completed]);
    } finally {
      craned.close();
    }
  });
});
