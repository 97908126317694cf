// `crane top` on a real cluster, driven through tmux as a person would: navigate, open a job's steps and follow a
// step's live output, cancel a job and watch its state change, look at the nodes, quit with the terminal restored.
// Without a terminal it prints one snapshot.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIST, binaryMissingReason, startCluster, submit, type TestCluster } from "../harness/cluster";
import { Terminal, tmuxMissingReason } from "../harness/tmux";

const skip = binaryMissingReason() ?? tmuxMissingReason();

let cluster: TestCluster;
let ticker: ChildProcess | undefined;
let term: Terminal;
const PROMPT = "TOPTEST$";

const keys = (...k: string[]) => term.keys(...k);
const until = (what: string, pred: (s: string) => boolean, timeoutMs = 30_000) => term.waitUntil(what, pred, timeoutMs);
const selectedRow = (s: string) => s.split("\n").find((l) => l.startsWith("› ")) ?? "";
const row = (s: string, id: number) => s.split("\n").find((l) => new RegExp(`^. ${id}\\s`).test(l)) ?? "";

/** Moves the selection (j/k, one key at a time) onto job `id`. */
async function select(id: number): Promise<void> {
  const s = await until(`job ${id} listed, and a selection`, (x) => row(x, id) !== "" && selectedRow(x) !== "");
  const ids = s
    .split("\n")
    .flatMap((l) => /^[› ] (\d+)\s/.exec(l)?.[1] ?? [])
    .map(Number);
  const current = Number(/^› (\d+)/.exec(selectedRow(s))![1]);
  const delta = ids.indexOf(id) - ids.indexOf(current);
  for (let i = 0; i < Math.abs(delta); i++) keys(delta > 0 ? "j" : "k");
  await until(`job ${id} selected`, (x) => new RegExp(`^› ${id}\\s`).test(selectedRow(x)));
}

describe.skipIf(skip)("crane top (tmux)", () => {
  let sleeper: number;
  let victim: number;
  let talker: number;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2 });
    sleeper = await submit(cluster, ["--wrap", "sleep 300"]);
    victim = await submit(cluster, ["-J", "victim", "--wrap", "sleep 300"]);
    // A crun job whose output goes to the node's step log: what the log pane follows.
    ticker = spawn(`${DIST}/crun`, ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.3; done"], {
      env: cluster.env,
      cwd: cluster.dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    ticker.stdout!.resume();
    ticker.stderr!.resume();
    talker = 0;
    for (let i = 0; i < 100 && !talker; i++) {
      const jobs = (JSON.parse((await cluster.run("cqueue", ["--json"])).stdout) as { jobs: { job_id: number; name: string; status: string }[] }).jobs;
      talker = jobs.find((j) => j.name === "sh" && j.status === "Running")?.job_id ?? 0;
      if (!talker) await new Promise((res) => setTimeout(res, 200));
    }
    expect(talker).toBeGreaterThan(0);
    await cluster.waitJob(victim, (j) => j.status === "Running");
    term = Terminal.start(`export CRANE_CONFIG='${cluster.env.CRANE_CONFIG}' PATH='${cluster.env.PATH}' TERM=xterm-256color; exec sh`, {
      columns: 150,
      rows: 40,
    });
    keys(`PS1="${PROMPT} "`, "Enter");
    await until("the shell prompt", (s) => s.includes(PROMPT));
  });

  afterAll(async () => {
    term?.kill();
    if (talker) await cluster?.run("ccancel", [String(talker)]).catch(() => undefined);
    ticker?.kill("SIGKILL");
    await cluster?.stop();
  });

  it("shows the running jobs live, with state, time / limit and nodes", async () => {
    keys(`clear; ${DIST}/crane top`, "Enter");
    const s = await until("the three jobs running", (x) => [sleeper, victim, talker].every((id) => /Running/.test(row(x, id))));
    expect(s).toMatch(/crane top · jobs \d+ \(running \d+/);
    expect(row(s, victim)).toMatch(new RegExp(`${victim}\\s+victim\\s+root\\s+CPU\\s+Running\\s+\\d\\d:\\d\\d:\\d\\d / unlimited\\s+\\S+`));
    expect(s).toContain("● live");
    expect(s).toMatch(/q quit/);
  });

  it("opens a job's steps and follows the selected step's output as it is written", async () => {
    await select(talker);
    keys("Enter");
    await until("the steps of the crun job", (x) => new RegExp(`${talker}\\.1\\s+sh\\s+process\\s+Running`).test(x));
    keys("Enter");
    const first = await until("the step's output in the log pane", (x) => x.includes(`log ${talker}.1`) && /tick \d+/.test(x));
    const last = (x: string) => Math.max(...[...x.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    const seen = last(first);
    await until("newer output arriving", (x) => last(x) > seen + 2);
    keys("Escape");
    await until("the jobs table again", (x) => x.includes("JOBID"));
  });

  it("cancels a job after confirmation and shows its new state", async () => {
    await select(victim);
    keys("x");
    await until("the confirmation", (x) => x.includes(`Cancel job ${victim} (victim)? [y/N]`));
    keys("y");
    await until("the cancel being requested", (x) => x.includes(`job ${victim}: cancel requested`));
    // It leaves the active jobs; the "ended" filter shows it Cancelled.
    await until("the job gone from the active view", (x) => row(x, victim) === "" && row(x, sleeper) !== "");
    keys("f", "f", "f");
    await until("the job cancelled under the ended filter", (x) => x.includes("ended, sort") && /Cancelled/.test(row(x, victim)));
    keys("f", "f");
    await until("the active filter again", (x) => x.includes("active, sort"));
    const q = await cluster.waitJob(victim, (j) => j.status === "Cancelled");
    expect(q.status).toBe("Cancelled");
  });

  it("switches to the nodes view with allocation bars and back", async () => {
    keys("n");
    const s = await until("the nodes", (x) => x.includes("NODE") && cluster.nodes.every((n) => x.includes(n)));
    for (const n of cluster.nodes) expect(s).toMatch(new RegExp(`${n}\\s+(idle|mix|alloc)\\s+CPU\\s+[█░▏▎▍▌▋▊▉]+ [\\d.]+/4\\s+[█░▏▎▍▌▋▊▉]+ \\S+/4\\.0G`));
    expect(s).toMatch(/CPU\*\s+up\s+nodes /);
    keys("Escape");
    await until("the jobs table again", (x) => x.includes("JOBID"));
  });

  it("quits on q and gives the terminal back as it was", async () => {
    keys("q");
    const s = await until("the shell prompt back", (x) => x.includes(PROMPT) && !x.includes("crane top ·"));
    expect(s).not.toContain("JOBID");
    expect(term.display("#{alternate_on}")).toBe("0");
    // Cooked mode and echo are back: a typed command line shows and runs.
    keys("echo restored-$((40+2))", "Enter");
    await until("the shell running a command", (x) => x.includes("restored-42"));
  });

  it("prints one plain snapshot without a terminal", async () => {
    const r = await cluster.run("crane", ["top"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^JOBID\s+NAME\s+USER\s+PARTITION\s+STATE\s+TIME \/ LIMIT\s+NODES \/ REASON/);
    expect(r.stdout).toMatch(new RegExp(`\\n${sleeper}\\s+Wrap\\s+root\\s+CPU\\s+Running`));
    expect(r.stdout).toMatch(/\nNODE\s+STATE\s+PARTITIONS\s+CPU\s+MEMORY\s+GPU/);
    expect(r.stdout).not.toContain("\u001b[");
  });

  it("cqueue --watch is the same view, started from cqueue's filters", async () => {
    const running = await cluster.run("cqueue", ["--watch", "-t", "running"]);
    expect(running.code).toBe(0);
    expect(running.stdout).toMatch(new RegExp(`\\n${sleeper}\\s+Wrap\\s+root\\s+CPU\\s+Running`));
    const pending = await cluster.run("cqueue", ["--watch", "-t", "pending"]);
    expect(pending.code).toBe(0);
    expect(pending.stdout).toMatch(/^JOBID\s+NAME/);
    expect(pending.stdout).not.toMatch(new RegExp(`\\n${sleeper}\\s`));
  });
});
