// crun --pty through a real terminal (tmux) on a one-node cluster, and ccancel --signal: typing, window size and
// resize, Ctrl-C reaching the command in the terminal, the exit code, the local terminal restored; a crun that dies
// ends its step; an unprivileged user can neither open another user's terminal (CLI or raw gRPC) nor signal their
// job. Needs root, tmux and `npm run build`; skipped with the reason otherwise.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUnixUser, rawCallAs, runAs, type UnixUser } from "../harness/attacker";
import { binaryMissingReason, DIST, finished, startCluster, submit, waitFor, type TestCluster } from "../harness/cluster";
import { Terminal, tmuxMissingReason } from "../harness/tmux";

const unavailable = binaryMissingReason() ?? tmuxMissingReason();

/** After the command: its exit code and whether the terminal is back in canonical (cooked) mode. */
const REPORT = `echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon | sed 's/^/TTY=/'; sleep 600`;

describe.skipIf(unavailable)("crun --pty and ccancel --signal", () => {
  let c: TestCluster;
  let user: UnixUser;
  const terminals: Terminal[] = [];
  const userEnv = () => ({ CRANE_CONFIG: c.configFile, PATH: `${DIST}:/usr/bin:/bin` });

  beforeAll(async () => {
    c = await startCluster();
    user = createUnixUser();
  });

  afterAll(async () => {
    for (const t of terminals) t.kill();
    await c?.stop();
    user?.cleanup();
  });

  function terminal(command: string, size = { columns: 100, rows: 30 }): Terminal {
    const env = `export PATH='${DIST}':"$PATH" CRANE_CONFIG='${c.configFile}' PS1='pty$ ';`;
    const t = Terminal.start(`${env} ${command}; ${REPORT}`, size);
    terminals.push(t);
    return t;
  }

  /** The running pty job's id, from cqueue. */
  async function runningJob(name: string): Promise<number> {
    let id = 0;
    await waitFor(`a running ${name} job`, async () => {
      const { jobs } = JSON.parse((await c.run("cqueue", ["--json"])).stdout) as { jobs: { job_id: number; name: string; status: string }[] };
      id = jobs.find((j) => j.name === name && j.status === "Running")?.job_id ?? 0;
      return id > 0;
    });
    return id;
  }

  it("a shell in a terminal: typing, its size and resize, Ctrl-C, the exit code, and the terminal restored", async () => {
    const t = terminal("crun --pty /bin/sh");
    t.type("tty; echo answer=$((6*7))");
    await t.waitFor(/^\/dev\/pts\/\d+$/m);
    await t.waitFor(/^answer=42$/m);
    t.type("stty size");
    await t.waitFor(/^30 100$/m);
    t.resize(80, 20);
    t.type("stty size");
    await t.waitFor(/^20 80$/m);
    // Ctrl-C goes to the command in the terminal (the task does not start with SIGINT ignored), not to crun.
    t.type("sleep 300; echo slept");
    await new Promise((r) => setTimeout(r, 500));
    t.keys("C-c");
    t.type("echo after=$((1+1))");
    await t.waitFor(/^after=2$/m);
    expect(t.screen()).not.toMatch(/^slept$/m);
    t.type("exit 3");
    await t.waitFor(/^EXIT=3$/m);
    await t.waitFor(/^TTY=icanon$/m);
  });

  it("an unprivileged user's crun --pty: the shell runs as the user, in a terminal of the user's, and resizes", async () => {
    const t = terminal(`runuser -u ${user.name} -- env CRANE_CONFIG='${c.configFile}' PATH='${DIST}:/usr/bin:/bin' crun --pty /bin/sh`);
    t.type("id -u; stat -c owner=%u $(tty); stty size");
    await t.waitFor(new RegExp(`^${user.uid}$`, "m"));
    await t.waitFor(new RegExp(`^owner=${user.uid}$`, "m"));
    await t.waitFor(/^30 100$/m);
    t.resize(90, 25);
    t.type("stty size");
    await t.waitFor(/^25 90$/m);
    t.type("exit");
    await t.waitFor(/^EXIT=0$/m);
  });

  it("a crun --pty that dies ends its step, as a closed terminal window does", async () => {
    const t = terminal("crun --pty /bin/sh");
    const jobId = await runningJob("sh");
    t.type("echo ready");
    await t.waitFor(/^ready$/m);
    t.kill(); // tmux goes, and crun with it: the session closes
    const job = await c.waitJob(jobId, finished, 30_000);
    expect(job.status).not.toBe("Completed");
  });

  it("another user can neither open the terminal of a root crun --pty (CLI or raw gRPC) nor signal the job", async () => {
    const t = terminal("crun --pty /bin/sh");
    const jobId = await runningJob("sh");
    const raw = await rawCallAs(user, undefined, {
      address: `127.0.0.1:${c.port}`,
      service: "CraneCtld",
      method: "OpenStepStream",
      request: { jobId, stepId: 1, attach: true, tty: true, stdin: true, stdout: true },
    });
    expect(raw.code).toBe(0);
    expect(raw.response.ok).toBe(false);
    expect(raw.response.url).toBe("");
    expect(raw.response.reason).toMatch(/permission/i);
    const signal = await runAs(user, ["ccancel", "--signal", "KILL", String(jobId)], { env: userEnv() });
    expect(signal.code).not.toBe(0);
    expect(`${signal.stdout}${signal.stderr}`).toMatch(/Permission denied/i);
    t.type("echo still-here");
    await t.waitFor(/^still-here$/m);
    t.type("exit 0");
    await t.waitFor(/^EXIT=0$/m);
  });

  it("ccancel --signal USR1 reaches a batch script, which goes on running; a bad signal name is refused", async () => {
    const work = fs.mkdtempSync(path.join(c.dir, "sig-"));
    const jobId = await submit(c, ["-o", "sig.out", "--wrap", "trap 'echo got-usr1' USR1; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done"], work);
    await c.waitJob(jobId, (j) => j.status === "Running", 30_000);
    await new Promise((r) => setTimeout(r, 500)); // its trap is set
    const bad = await c.run("ccancel", ["--signal", "NOPE", String(jobId)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Invalid signal "NOPE"/);
    const r = await c.run("ccancel", ["-s", "USR1", String(jobId)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Job ${jobId} sent SIGUSR1`));
    await waitFor("the trap to run", () => fs.readFileSync(path.join(work, "sig.out"), "utf8").includes("got-usr1"));
    expect((await c.waitJob(jobId, () => true)).status).toBe("Running");
    expect((await c.run("ccancel", [String(jobId)])).code).toBe(0);
    expect((await c.waitJob(jobId, finished, 30_000)).status).toBe("Cancelled");
  });

  it("--pty is refused for a batch job sent straight to ctld", async () => {
    const raw = await rawCallAs(user, undefined, {
      address: `127.0.0.1:${c.port}`,
      service: "CraneCtld",
      method: "SubmitBatchJob",
      request: { job: { type: "Batch", nodeNum: 1, ntasks: 1, cpusPerTask: 1, shScript: "#!/bin/sh\ntrue\n", pty: true, cwd: user.home } },
    });
    expect(raw.code, raw.details).toBe(0);
    expect(raw.response.ok).toBe(false);
    expect(raw.response.reason).toMatch(/pty is only for a crun command/);
  });
});
