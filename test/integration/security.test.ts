// Attacks of an unprivileged Unix user on a real two-node cluster (the built executable, real daemons), through
// the CLI and through a raw gRPC client built from the proto (not crane's code), from this host and from
// "another host" (a network namespace joined by a veth pair). Each attack must fail or gain nothing.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveNodeKey } from "../../src/core/auth/node-credential";
import { createNetnsHost, createUnixUser, rawCall, rawCallAs, runAs, type NetnsHost, type UnixUser } from "../harness/attacker";
import { DIST, finished, nodeRuntimeDir, startCluster, type TestCluster } from "../harness/cluster";

describe("an unprivileged user cannot reach root or act as someone else", () => {
  let c: TestCluster;
  let user: UnixUser;
  let other: NetnsHost;
  const env = () => ({ CRANE_CONFIG: c.configFile, PATH: `${DIST}:/usr/bin:/bin` });
  const ctld = () => `127.0.0.1:${c.port}`;

  beforeAll(async () => {
    c = await startCluster({ nodes: 2, extraArgs: ["--listen-addr", "0.0.0.0"] });
    user = createUnixUser();
    other = await createNetnsHost();
  });

  afterAll(async () => {
    await c?.stop();
    user?.cleanup();
    await other?.cleanup();
  });

  /** The job's record as root sees it, once finished. */
  const finishedJob = (id: number) => c.waitJob(id, finished, 30_000);

  it("a fake setpriv early in PATH never runs as root, and the task runs as the user with the user's groups", async () => {
    const bin = path.join(user.home, "b");
    fs.mkdirSync(bin);
    const marker = path.join(bin, "ran-as");
    fs.writeFileSync(path.join(bin, "setpriv"), `#!/bin/sh\nid -u > ${marker}\nexec /usr/bin/setpriv "$@"\n`, { mode: 0o755 });
    fs.chownSync(bin, user.uid, user.gid);
    const r = await runAs(user, ["crun", "sh", "-c", "id -u; id -g; id -G; echo ${LD_PRELOAD:-none}"], {
      env: { ...env(), PATH: `${bin}:${DIST}:/usr/bin:/bin`, LD_PRELOAD: "/nonexistent/evil.so" },
    });
    expect(r.code, r.stderr).toBe(0);
    const [uid, gid, groups, preload] = r.stdout.trim().split("\n");
    expect(Number(uid)).toBe(user.uid);
    expect(Number(gid)).toBe(user.gid);
    expect(groups!.split(" ").map(Number).sort()).toEqual([user.gid, user.supplementaryGid].sort());
    expect(preload).toBe("/nonexistent/evil.so"); // the user's environment reaches the user's task, and only it
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("a job sent straight to ctld claiming uid 0 and gid 0 (body and headers) runs as the user", async () => {
    const out = path.join(user.home, "who.out");
    const reply = await rawCallAs(user, undefined, {
      address: ctld(),
      service: "CraneCtld",
      method: "SubmitBatchJob",
      metadata: { "x-crane-uid": "0", "x-crane-gid": "0" },
      request: {
        job: {
          type: "Batch",
          uid: 0,
          gid: 0,
          nodeNum: 1,
          ntasks: 1,
          cpusPerTask: 1,
          cwd: user.home,
          submitDir: user.home,
          shScript: "#!/bin/sh\nid -u; id -g\n",
          io: { outputPattern: out },
          env: { PATH: "/usr/bin:/bin" },
        },
      },
    });
    expect(reply.code, reply.details).toBe(0);
    const jobId = Number((reply.response as { jobId: string }).jobId);
    const job = await finishedJob(jobId);
    expect(job.status).toBe("Completed");
    expect(fs.readFileSync(out, "utf8").trim().split("\n").map(Number)).toEqual([user.uid, user.gid]);
  });

  it("cannot read another user's job details, cancel it, or follow its output", async () => {
    const secret = await c.run("cbatch", ["--wrap", "echo root-secret; sleep 30"], { env: { TOKEN: "s3cret" } });
    const jobId = Number(/Job id allocated: (\d+)\./.exec(secret.stdout)?.[1]);
    const q = await rawCallAs(user, undefined, { address: ctld(), service: "CraneCtld", method: "QueryJobsInfo", request: { jobIds: [{ jobId }] } });
    expect(q.code).toBe(0);
    const shown = JSON.stringify(q.response);
    expect(shown).toContain(String(jobId));
    expect(shown).not.toContain("root-secret");
    const cancel = await runAs(user, ["ccancel", String(jobId)], { env: env() });
    expect(`${cancel.stdout}${cancel.stderr}`).toMatch(/Permission denied/i);
    expect((await c.run("ccancel", [String(jobId)])).code).toBe(0);
  });

  it("a call from another host is refused: its uid cannot be verified without MUNGE", async () => {
    const r = await rawCallAs(user, other, {
      address: `${other.hostAddress}:${c.port}`,
      service: "CraneCtld",
      method: "CancelJob",
      request: {},
      metadata: { "x-crane-uid": "0" },
    });
    expect(r.code).toBe(16);
    expect(r.details).toContain("AuthType local");
    // Even root of that host is nobody here.
    const asRoot = await rawCallAs(undefined, other, {
      address: `${other.hostAddress}:${c.port}`,
      service: "CraneCtld",
      method: "QueryClusterInfo",
      request: {},
    });
    expect(asRoot.code).toBe(16);
  });

  it("a node cannot speak for another node, and nobody without a node's key reaches a craned", async () => {
    const clusterKey = fs.readFileSync(path.join(c.dir, "cluster.key"), "utf8").trim();
    const [first, second] = c.nodes as [string, string];
    const internal = `127.0.0.1:${c.port + 1}`;
    const asFirst = { "x-crane-node": first, "x-crane-node-key": deriveNodeKey(clusterKey, first) };
    const forged = await rawCall({
      address: internal,
      service: "CraneCtldForInternal",
      method: "CranedPing",
      request: { node: second },
      metadata: asFirst,
    });
    expect(forged.code).toBe(7);
    expect(forged.details).toContain(`may not speak for node "${second}"`);
    const wrongKey = await rawCall({
      address: internal,
      service: "CraneCtldForInternal",
      method: "CranedPing",
      request: { node: second },
      metadata: { "x-crane-node": second, "x-crane-node-key": deriveNodeKey(clusterKey, first) },
    });
    expect(wrongKey.code).toBe(16);
    // The first node's key does not open the second node's craned either.
    const execute = await rawCall({
      address: `127.0.0.1:${c.port + 3}`,
      service: "Craned",
      method: "ExecuteStep",
      request: { step: { jobId: 999, stepId: 1, uid: 0, argv: ["/bin/true"] } },
      metadata: asFirst,
    });
    expect(execute.code).toBe(16);
    // The user reads no key: the cluster's keys and state are root's.
    const read = await runAs(user, ["cat", path.join(c.dir, "cluster.key"), path.join(c.dir, "node-keys", `${first}.key`)]);
    expect(read.code).not.toBe(0);
    expect(read.stdout).toBe("");
  });

  it("the job database and the nodes' state are private to root", () => {
    const mode = (p: string) => fs.statSync(p).mode & 0o777;
    const db = fs.readdirSync(path.join(c.dir, "ctld")).filter((f) => f.startsWith("crane.db"));
    expect(db.length).toBeGreaterThan(0);
    for (const f of db) expect(mode(path.join(c.dir, "ctld", f)), f).toBe(0o600);
    expect(mode(path.join(c.dir, "ctld"))).toBe(0o700);
    for (const n of c.nodes) expect(mode(path.join(c.dir, "craned", n))).toBe(0o700);
    for (const n of c.nodes) expect(mode(nodeRuntimeDir(c, n))).toBe(0o700);
  });
});
