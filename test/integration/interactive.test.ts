// Interactive containers through real terminals (tmux) on a two-node cluster and a private containerd: ccon run -it,
// typing, window resize, detach with Ctrl-P Ctrl-Q and re-attach, exit codes, exec into a container on the second
// node (through that node's stream proxy), and a second Unix user refused everything on the first user's job.
// Needs root, containerd/runc/ctr, busybox-static, CNI plugins, tmux and `npm run build`; skipped with the reason otherwise.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryMissingReason, DIST, type RunResult, startCluster, type TestCluster, waitFor } from "../harness/cluster";
import { type ContainerdHarness, containerdUnavailableReason, startContainerd } from "../harness/containerd";
import { Terminal, tmuxMissingReason } from "../harness/tmux";

const unavailable = binaryMissingReason() ?? containerdUnavailableReason() ?? tmuxMissingReason();

/** After the command: its exit code and whether the terminal is back in canonical (cooked) mode. */
const REPORT = `echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon | sed 's/^/TTY=/'; sleep 600`;

describe.skipIf(unavailable)("interactive containers (attach, exec, run -it)", () => {
  let ctrd: ContainerdHarness;
  let c: TestCluster;
  const terminals: Terminal[] = [];

  beforeAll(async () => {
    ctrd = await startContainerd();
    c = await startCluster({ runtimeEndpoint: ctrd.socket, nodes: 2 });
  });

  afterAll(async () => {
    for (const t of terminals) t.kill();
    await c?.stop();
    await ctrd?.stop();
  });

  function terminal(command: string, size = { columns: 100, rows: 30 }): Terminal {
    // The shell tmux starts may set its own PATH: name ours in the command line itself.
    const env = `export PATH='${DIST}':"$PATH" CRANE_CONFIG='${c.configFile}';`;
    const t = Terminal.start(`${env} ${command}; ${REPORT}`, size);
    terminals.push(t);
    return t;
  }

  /** `ccon <args>` (a run -d), once its container runs: its id. */
  async function runDetached(args: string[]): Promise<string> {
    const r = await c.run("ccon", args);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    await waitFor(`container ${id} to run`, async () => (await status(id)) === "Running", 30_000);
    return id;
  }

  async function inspect(id: string): Promise<{ status: string; exit_code?: number; nodes?: string[] }> {
    const r = await c.run("ccon", ["inspect", id]);
    return r.code === 0 ? JSON.parse(r.stdout) : { status: "unknown" };
  }

  const status = async (id: string) => (await inspect(id)).status;

  it("ccon run -it: a shell to type into, window resizes, Ctrl-P Ctrl-Q detaches, attach resumes and returns the exit code", async () => {
    const t = terminal("ccon run -it busybox sh");
    await t.waitFor(/\/ # $/m);
    t.type("echo answer=$((6*7))");
    await t.waitFor(/^answer=42$/m);
    t.type("stty size");
    await t.waitFor(/^30 100$/m);
    t.resize(80, 20);
    t.type("stty size");
    await t.waitFor(/^20 80$/m);

    t.keys("C-p", "C-q");
    const detached = await t.waitFor(/Detached from container (\d+\.\d+)\. The container is still running; re-attach with: ccon attach \1/);
    await t.waitFor(/^EXIT=0$/m);
    await t.waitFor(/^TTY=icanon$/m);
    const id = detached[1]!;
    expect(await status(id)).toBe("Running");

    const again = terminal(`ccon attach ${id}`);
    // Typed before the screen is checked: an attach does not replay what the shell printed before it.
    await waitFor(
      "the attach session",
      async () => {
        again.type("echo back=$((1+1))");
        await new Promise((r) => setTimeout(r, 300));
        return /^back=2$/m.test(again.screen());
      },
      20_000,
    );
    again.type("exit 5");
    await again.waitFor(/^EXIT=5$/m);
    await again.waitFor(/^TTY=icanon$/m);
    expect(await inspect(id)).toMatchObject({ status: "Failed", exit_code: 5 });
  });

  it("ccon run -it passes what is typed to the container and exits with its exit code", async () => {
    const t = terminal("ccon run -it busybox sh -c 'read code; echo got $code; exit $code'");
    await waitFor(
      "the container to read",
      async () => {
        const r = await c.run("ccon", ["ps"]);
        return /RUNNING/.test(r.stdout);
      },
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    t.type("6");
    await t.waitFor(/^got 6$/m);
    await t.waitFor(/^EXIT=6$/m);
    await t.waitFor(/^TTY=icanon$/m);
  });

  it("ccon exec into a container on the second node: output, exit code, piped stdin and a terminal; logs -f from there", async () => {
    const second = c.nodes[1]!;
    const far = await runDetached(["-w", second, "run", "-d", "--name", "far", "busybox", "sleep", "600"]);
    expect((await inspect(far)).nodes).toEqual([second]);

    const hostname = await c.run("ccon", ["exec", far, "cat", "/etc/hostname"]);
    expect(hostname.code, hostname.stderr).toBe(0);
    expect(hostname.stdout.trim()).toBe(`far-${second}`);

    const failing = await c.run("ccon", ["exec", far, "sh", "-c", "echo to-stderr >&2; exit 3"]);
    expect(failing.code).toBe(3);
    expect(failing.stderr).toContain("to-stderr");

    const missing = await c.run("ccon", ["exec", far, "no-such-command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/Exec failed: .*no-such-command/);

    const piped = await c.run("ccon", ["exec", "-i", far, "sh", "-c", "tr a-z A-Z"], { input: "piped through\n" });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toBe("PIPED THROUGH\n");

    // ccon logs -f follows the second node's live output through ctld.
    const talker = await runDetached(["-w", second, "run", "-d", "busybox", "sh", "-c", "echo first; sleep 2; echo second; sleep 600"]);
    const follow = spawn(path.join(DIST, "ccon"), ["logs", "-f", talker], { env: c.env });
    let followed = "";
    follow.stdout.on("data", (d) => (followed += d));
    await waitFor("ccon logs -f to show the line written two seconds after the start", () => followed.includes("second"), 20_000);
    expect(followed).toBe("first\nsecond\n");
    expect(follow.exitCode).toBeNull();
    follow.kill();

    const t = terminal(`ccon exec -it ${far} sh`);
    await t.waitFor(/\/ # $/m);
    t.type("cat /etc/hostname; exit 4");
    await t.waitFor(new RegExp(`^far-${second}$`, "m"));
    await t.waitFor(/^EXIT=4$/m);
    await t.waitFor(/^TTY=icanon$/m);
    expect(await status(far)).toBe("Running");
  });

  describe("a second Unix user", () => {
    const user = `cranet${process.pid % 100000}`;
    let uid = 0;
    let gid = 0;
    let config = "";

    beforeAll(() => {
      const made = spawnSync("useradd", ["--no-create-home", "--shell", "/bin/sh", user], { encoding: "utf8" });
      if (made.status !== 0) throw new Error(`useradd ${user}: ${made.stderr}`);
      uid = Number(spawnSync("id", ["-u", user], { encoding: "utf8" }).stdout);
      gid = Number(spawnSync("id", ["-g", user], { encoding: "utf8" }).stdout);
      // The cluster's own directory is private to root; the user needs only the config.
      config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "crane-user2-")), "config.yaml");
      fs.copyFileSync(c.configFile, config);
      fs.chmodSync(path.dirname(config), 0o755);
      fs.chmodSync(config, 0o644);
    });

    afterAll(() => {
      spawnSync("userdel", [user]);
      if (config) fs.rmSync(path.dirname(config), { recursive: true, force: true });
    });

    /** Runs a Node script as the user. */
    function asUserScript(source: string): Promise<RunResult> {
      const file = path.join(path.dirname(config), "script.js");
      fs.writeFileSync(file, source, { mode: 0o644 });
      return asUser([], [process.execPath, file]);
    }

    function asUser(args: string[], command = [path.join(DIST, "ccon"), ...args]): Promise<RunResult> {
      return new Promise((resolve, reject) => {
        const child = spawn("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--clear-groups", ...command], {
          env: { PATH: process.env.PATH, HOME: "/", CRANE_CONFIG: config },
          cwd: "/",
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin.end("typed by someone else\n");
      });
    }

    it("is refused attach, exec, logs and stop on root's container, which keeps running", async () => {
      const id = await runDetached(["run", "-d", "-i", "busybox", "sh", "-c", "echo secret-output; sleep 600"]);

      const attach = await asUser(["attach", id]);
      expect(attach.code).toBe(4);
      expect(attach.stderr).toContain("Attach failed: Insufficient permission to attach.");

      const exec = await asUser(["exec", id, "cat", "/etc/hostname"]);
      expect(exec.code).toBe(4);
      expect(exec.stderr).toContain("Exec failed: Insufficient permission to exec.");

      const logs = await asUser(["logs", id]);
      expect(logs.code).not.toBe(0);
      expect(logs.stdout).not.toContain("secret-output");
      expect(logs.stderr).toMatch(/belongs to another user|permission/i);

      const stop = await asUser(["stop", id]);
      expect(stop.code).not.toBe(0);
      expect(stop.stderr).toMatch(/Permission denied|permission/i);

      // Nor does claiming root's uid in a header do anything (ctld takes the uid from the kernel: an empty
      // CancelJob then cancels the caller's own jobs, none), nor can the user call the daemons' own services
      // (they want a node's key).
      const forged = await asUserScript(`
        const grpc = require(${JSON.stringify(require.resolve("@grpc/grpc-js"))});
        const md = new grpc.Metadata();
        md.set("x-crane-uid", "0");
        md.set("x-crane-gid", "0");
        const empty = () => Buffer.alloc(0);
        const call = (port, method) => new Promise((resolve) => {
          const client = new grpc.Client("127.0.0.1:" + port, grpc.credentials.createInsecure());
          client.makeUnaryRequest(method, empty, (b) => b, {}, md, (err) => resolve({ code: err ? err.code : 0, details: err ? err.details : "" }));
        });
        (async () => {
          const answers = [
            await call(${c.port}, "/crane.grpc.CraneCtld/CancelJob"),
            await call(${c.port + 1}, "/crane.grpc.CraneCtldForInternal/StepStatusChange"),
            await call(${c.port + 2}, "/crane.grpc.Craned/ExecuteStep"),
          ];
          console.log(JSON.stringify(answers));
          process.exit(0);
        })();
      `);
      expect(JSON.parse(forged.stdout)).toEqual([
        { code: 0, details: "" },
        { code: 16, details: "StepStatusChange is for crane's node daemons only: the call carries no node key, or not that node's" },
        { code: 16, details: "ExecuteStep is for crane's control daemon only: the call carries no key, or not this node's" },
      ]);

      expect(await status(id)).toBe("Running");
      const own = await c.run("ccon", ["logs", id]);
      expect(own.stdout).toContain("secret-output");
      expect((await c.run("ccon", ["stop", "-t", "1", id])).code).toBe(0);
    });
  });
});
