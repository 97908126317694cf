// Every user command run in-process against a fake ctld: --json prints one line that follows the convention
// (snake_case keys, RFC 3339 times), and the base command opens the ctld client at most once and closes it,
// whether the command succeeds or fails.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { format } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { JobHistoryEntry, JobStatus, JobType } from "../../../src/core/generated/crane/crane";
import { T0, containerJob, fakeCtld } from "./fake-ctld.js";
import { runCommand } from "../../../src/core/cli/dispatch";
import { commands, topics } from "../../../src/commands/index";

vi.mock("../../../src/core/cli/ctld", async (importOriginal) => {
  const orig = await importOriginal<typeof import("../../../src/core/cli/ctld")>();
  const { fakeCtld: fake } = await import("./fake-ctld.js");
  return { ...orig, connectCtld: () => fake.connect() };
});

/** Runs a command line in-process (as `crane ...`) and returns what it printed and its exit code. */
async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  // oclif's this.log goes through console.log, which vitest captures before it reaches process.stdout.
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void (out += `${format(...a)}\n`));
  const logErr = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void (err += `${format(...a)}\n`));
  try {
    const code = await runCommand(argv, { commands, topics, io: { out: (s) => (out += s), err: (s) => (err += s) } });
    return { code, out, err };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    log.mockRestore();
    logErr.mockRestore();
  }
}

/** Maps whose keys are data (GRES names, variables, node names, job ids), not field names. */
const DATA_MAPS = new Set(["gres", "env", "container_ids", "cancelled_steps", "not_cancelled_job_steps"]);
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** What breaks the JSON convention in a value, as `path: problem` lines. */
function violations(v: unknown, at = "$"): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => violations(x, `${at}[${i}]`));
  if (v === null || typeof v !== "object") return [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    const here = `${at}.${k}`;
    if (!SNAKE.test(k)) out.push(`${here}: key is not snake_case`);
    if (k.endsWith("_time") && x !== null && !(typeof x === "string" && RFC3339.test(x))) out.push(`${here}: ${JSON.stringify(x)} is not RFC 3339`);
    if (DATA_MAPS.has(k) && x && typeof x === "object") for (const y of Object.values(x)) out.push(...violations(y, `${here}[*]`));
    else out.push(...violations(x, here));
  }
  return out;
}

async function json(argv: string[], expectedCode = 0): Promise<Record<string, unknown>> {
  const r = await runCli(argv);
  expect(r.code, r.err).toBe(expectedCode);
  const lines = r.out.split("\n").filter(Boolean);
  expect(lines, "one line of JSON").toHaveLength(1);
  const value = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(violations(value)).toEqual([]);
  expect(fakeCtld.closed, "the ctld client is closed as often as it was opened").toBe(fakeCtld.opened);
  expect(fakeCtld.opened).toBeLessThanOrEqual(1);
  return value;
}

const queue =
  (...jobs: ReturnType<typeof containerJob>[]) =>
  () => ({ ok: true, jobs });
const cancelled = { cancelled: [{ jobId: 7, stepIds: [1] }], notCancelled: [] };

let home: string;
beforeEach(() => {
  fakeCtld.reset();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "crane-cli-"));
  vi.stubEnv("HOME", home);
  vi.stubEnv("CRANE_JOB_ID", "");
});
afterEach(() => {
  vi.unstubAllEnvs();
  fs.rmSync(home, { recursive: true, force: true });
});

describe("--json of every command", () => {
  it("cqueue: the jobs with their steps, times as RFC 3339", async () => {
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
    const v = (await json(["cqueue", "--json"])) as { ok: boolean; jobs: { job_id: number; submit_time: string; steps: { step_id: number }[] }[] };
    expect(v.ok).toBe(true);
    expect(v.jobs[0]).toMatchObject({ job_id: 7, user: "alice", status: "Running", submit_time: new Date(T0).toISOString(), end_time: null });
    expect(v.jobs[0]!.steps.map((s) => s.step_id)).toEqual([0, 1]);
    expect(JSON.stringify(v)).not.toContain("secret");
  });

  it("cinfo: partitions and nodes", async () => {
    fakeCtld.handlers.queryClusterInfo = () => ({
      partitions: [{ name: "CPU", nodes: ["n1"], up: true, priority: 0, maxTimeSeconds: 0, isDefault: true }],
      nodes: [
        { name: "n1", state: "idle", partitions: ["CPU"], address: "127.0.0.1", reason: "", lastSeen: T0, total: { cpu: 2, memoryBytes: 1 << 30, gres: {} } },
      ],
    });
    const v = await json(["cinfo", "--json"]);
    expect(v).toMatchObject({
      partitions: [{ name: "CPU", is_default: true }],
      nodes: [{ name: "n1", state: "idle", last_seen_time: new Date(T0).toISOString() }],
    });
  });

  it("ccancel: what was cancelled and what was not, still printed when it exits 4", async () => {
    fakeCtld.handlers.cancelJob = () => ({
      cancelled: [{ jobId: 7, stepIds: [] }],
      notCancelled: [
        { jobId: 8, stepId: 2, reason: "not yours" },
        { jobId: 9, stepId: 0, reason: "no such job" },
      ],
    });
    const v = await json(["ccancel", "--json", "7,8.2,9"], 4);
    expect(v).toEqual({
      cancelled_steps: { 7: { steps: [] } },
      not_cancelled_job_steps: { 8: { reason: "", step_ids: [2], step_reasons: ["not yours"] }, 9: { reason: "no such job", step_ids: [], step_reasons: [] } },
    });
  });

  it("cbatch: the job ids", async () => {
    fakeCtld.handlers.submitBatchJob = () => ({ ok: true, jobId: 12, code: 0, reason: "" });
    expect(await json(["cbatch", "--json", "-H", "--wrap", "true"])).toEqual({ ok: true, job_ids: [12], errors: [] });
  });

  it("cacct: the history", async () => {
    fakeCtld.handlers.queryJobHistory = () => ({
      ok: true,
      code: 0,
      reason: "",
      jobs: [JobHistoryEntry.fromPartial({ jobId: 3, type: JobType.Batch, status: JobStatus.Completed, submitTime: T0, startTime: T0, endTime: T0 + 1000 })],
    });
    const v = (await json(["cacct", "--json"])) as { jobs: { job_id: number; end_time: string }[] };
    expect(v.jobs[0]).toMatchObject({ job_id: 3, state: "Completed", end_time: new Date(T0 + 1000).toISOString() });
  });

  it("ccon ps, pods, inspect, inspectp: containers and pods, credentials left out", async () => {
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
    const ps = await json(["ccon", "ps", "--json"]);
    expect(ps).toEqual({
      action: "ps",
      data: [
        {
          container: "7.1",
          name: "web",
          image: "docker.io/library/busybox:latest",
          command: ["sleep", "60"],
          submit_time: new Date(T0).toISOString(),
          status: "Running",
          exit_code: 0,
          reason: "",
          nodes: ["n1"],
        },
      ],
    });
    fakeCtld.reset();
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
    expect(await json(["ccon", "pods", "--json"])).toMatchObject({ action: "pods", data: [{ job_id: 7, pod: { name: "web", ports: [{ host_port: 8080 }] } }] });
    fakeCtld.reset();
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
    const inspected = await json(["ccon", "inspect", "--json", "web"]);
    expect(inspected).toMatchObject({ job_id: 7, step_id: 1, container: { name: "web", env: { FOO: "1" } }, container_ids: { n1: "abc" } });
    expect(JSON.stringify(inspected)).not.toContain("secret");
    fakeCtld.reset();
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
    expect(await json(["ccon", "inspectp", "--json", "7"])).toMatchObject({ job_id: 7, type: "Container" });
  });

  it("ccon inspect without --json prints the same object, indented", async () => {
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
    const r = await runCli(["ccon", "inspect", "7.1"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split("\n").length).toBeGreaterThan(10);
    expect(JSON.parse(r.out)).toMatchObject({ job_id: 7, step_id: 1, status: "Running" });
  });

  it("ccon stop, wait, run, attach, exec", async () => {
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
    fakeCtld.handlers.cancelJob = () => cancelled;
    expect(await json(["ccon", "stop", "--json", "web"])).toEqual({ action: "stop", data: { container: "7.1", stopped: true, reason: "", grace_seconds: 10 } });

    fakeCtld.reset();
    vi.stubEnv("CRANE_JOB_ID", "7");
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web", JobStatus.Completed));
    expect(await json(["ccon", "wait", "--json"])).toEqual({ action: "wait", data: { job_id: 7, steps: [{ step_id: 1, status: "Completed", exit_code: 0 }] } });
    vi.stubEnv("CRANE_JOB_ID", "");

    fakeCtld.reset();
    fakeCtld.handlers.submitBatchJob = () => ({ ok: true, jobId: 12, code: 0, reason: "" });
    expect(await json(["ccon", "run", "--json", "busybox", "true"])).toEqual({ action: "run", data: { job_id: 12, step_id: 1, container: "12.1" } });

    for (const sub of [["attach"], ["exec"]]) {
      fakeCtld.reset();
      fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
      fakeCtld.handlers.openStepStream = () => ({ ok: true, code: 0, reason: "", url: "ws://n1/x", node: "n1" });
      const argv = sub[0] === "exec" ? ["ccon", "exec", "--json", "web", "ls"] : ["ccon", "attach", "--json", "web"];
      expect(await json(argv)).toEqual({ action: sub[0], data: { ok: true, code: "SUCCESS", reason: "", url: "ws://n1/x", node: "n1" } });
    }
  });

  it("ccon login and logout (no ctld involved)", async () => {
    expect(await json(["ccon", "login", "--json", "-u", "alice", "-p", "pw", "registry.example.org"])).toEqual({
      action: "login",
      data: { server: "registry.example.org", username: "alice" },
    });
    expect(await json(["ccon", "logout", "--json", "registry.example.org"])).toEqual({ action: "logout", data: { server: "registry.example.org" } });
    expect(fakeCtld.opened).toBe(0);
  });
});

describe("the base command's ctld client", () => {
  it("is closed when the command fails after connecting", async () => {
    fakeCtld.handlers.queryJobsInfo = () => {
      throw new Error("ctld went away");
    };
    const r = await runCli(["cqueue"]);
    expect(r.code).toBe(1);
    expect(fakeCtld.opened).toBe(1);
    expect(fakeCtld.closed).toBe(1);
  });

  it("is never opened when the arguments are refused first", async () => {
    const r = await runCli(["cqueue", "-o", "%j %Z"]);
    expect(r.code).toBe(5);
    expect(fakeCtld.opened).toBe(0);
  });
});

describe("text output", () => {
  it("ccancel prints what failed and exits 4", async () => {
    fakeCtld.handlers.cancelJob = () => ({ cancelled: [{ jobId: 7, stepIds: [] }], notCancelled: [{ jobId: 8, stepId: 0, reason: "no such job" }] });
    const r = await runCli(["ccancel", "7", "8"]);
    expect(r.code).toBe(4);
    expect(r.out).toBe("Job 7 cancelled successfully.\n");
    expect(r.err).toContain("Failed to cancel job: 8. Reason: no such job.");
    expect(r.err).toContain("some jobs were not cancelled");
    expect(fakeCtld.calls[0]!.req).toMatchObject({
      jobIds: [
        { jobId: 7, stepIds: [] },
        { jobId: 8, stepIds: [] },
      ],
    });
  });

  it("ccon ps has a NAMES column", async () => {
    fakeCtld.handlers.queryJobsInfo = queue(containerJob(7, "web"));
    const r = await runCli(["ccon", "ps"]);
    const [header, row] = r.out.trimEnd().split("\n");
    expect(header!.split(/\s+/).slice(0, 3)).toEqual(["CONTAINER", "NAMES", "IMAGE"]);
    expect(row!.split(/\s+/).slice(0, 3)).toEqual(["7.1", "web", "docker.io/library/busybox:latest"]);
  });

  it("ccancel --signal asks ctld to signal (by the signal's full name) and says so; an unknown signal asks nothing", async () => {
    fakeCtld.handlers.cancelJob = () => ({ cancelled: [{ jobId: 7, stepIds: [] }], notCancelled: [{ jobId: 8, stepId: 0, reason: "job 8 is Pending" }] });
    const r = await runCli(["ccancel", "-s", "usr1", "7,8"]);
    expect(r.code).toBe(4);
    expect(r.out).toBe("Job 7 sent SIGUSR1.\n");
    expect(r.err).toContain("Failed to signal job: 8. Reason: job 8 is Pending.");
    expect(fakeCtld.calls[0]!.req).toMatchObject({ signal: "SIGUSR1" });
    fakeCtld.calls = [];
    const bad = await runCli(["ccancel", "-s", "NOPE", "7"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('Invalid signal "NOPE"');
    expect(fakeCtld.calls).toEqual([]);
  });
});
