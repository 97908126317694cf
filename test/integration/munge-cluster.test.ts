// AuthType munge end to end: a `crane up --munge-socket` cluster on a private munged, used by an unprivileged user
// through the CLI from this host and from "another host" (a network namespace sharing the munged, as a cluster's
// hosts share its key). The user is who MUNGE says, from anywhere; a call without a credential, with a replayed one
// or with one of another payload is refused.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNetnsHost, createUnixUser, rawCallAs, runAs, type NetnsHost, type UnixUser } from "../harness/attacker";
import { DIST, finished, startCluster, type TestCluster } from "../harness/cluster";
import { type MungedHarness, startMunged } from "../harness/munge";

describe("AuthType munge: the caller is whoever munged says, from any host", () => {
  let munged: MungedHarness;
  let c: TestCluster;
  let user: UnixUser;
  let other: NetnsHost;
  let remoteConfig: string;
  const env = (config: string) => ({ CRANE_CONFIG: config, PATH: `${DIST}:/usr/bin:/bin` });
  /** A credential of the user from munged's own client, with `payload`. */
  const credentialOf = async (payload: string) => {
    const r = await runAs(user, ["/usr/bin/munge", "--socket", munged.socket, "--string", payload]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const query = (cred: string | undefined) =>
    rawCallAs(user, undefined, {
      address: `127.0.0.1:${c.port}`,
      service: "CraneCtld",
      method: "QueryJobsInfo",
      request: {},
      metadata: cred ? { "x-crane-munge": cred } : {},
    });

  beforeAll(async () => {
    munged = await startMunged();
    c = await startCluster({ extraArgs: ["--listen-addr", "0.0.0.0", "--munge-socket", munged.socket] });
    user = createUnixUser();
    other = await createNetnsHost();
    // The same cluster, as a user's commands on the other host see it: ctld at this host's address on the link.
    const config = YAML.parse(fs.readFileSync(c.configFile, "utf8")) as Record<string, unknown>;
    expect(config.AuthType).toBe("munge");
    remoteConfig = path.join(c.dir, "remote-config.yaml");
    fs.writeFileSync(remoteConfig, YAML.stringify({ ...config, ControlMachine: other.hostAddress }), { mode: 0o644 });
  });

  afterAll(async () => {
    await c?.stop();
    other?.cleanup();
    user?.cleanup();
    await munged?.stop();
  });

  it("a user's job submitted from this host and from another host runs as that user", async () => {
    const here = await runAs(user, ["cbatch", "--wrap", "id -u", "-o", `${user.home}/here.out`], { env: env(c.configFile) });
    expect(here.code, here.stderr).toBe(0);
    const there = await other.exec(["cbatch", "--wrap", "id -u", "-o", `${user.home}/there.out`], { user, env: env(remoteConfig) });
    expect(there.code, there.stderr).toBe(0);
    for (const [r, out] of [
      [here, "here.out"],
      [there, "there.out"],
    ] as const) {
      const jobId = Number(/Job id allocated: (\d+)\./.exec(r.stdout)?.[1]);
      const job = await c.waitJob(jobId, finished, 30_000);
      expect(job.status).toBe("Completed");
      expect(job.user).toBe(user.name);
      expect(fs.readFileSync(path.join(user.home, out), "utf8").trim()).toBe(String(user.uid));
    }
    // From the other host the user sees and cancels its own job.
    const sleeper = await other.exec(["cbatch", "--wrap", "sleep 60"], { user, env: env(remoteConfig) });
    const jobId = Number(/Job id allocated: (\d+)\./.exec(sleeper.stdout)?.[1]);
    const q = await other.exec(["cqueue", "--json"], { user, env: env(remoteConfig) });
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toContain(user.name);
    expect((await other.exec(["ccancel", String(jobId)], { user, env: env(remoteConfig) })).code).toBe(0);
    expect((await c.waitJob(jobId, finished, 30_000)).status).toBe("Cancelled");
  });

  it("from the other host the user may not cancel root's job, and root of that host may", async () => {
    const sleeper = await c.run("cbatch", ["--wrap", "sleep 60"]);
    const jobId = Number(/Job id allocated: (\d+)\./.exec(sleeper.stdout)?.[1]);
    const asUser = await other.exec(["ccancel", String(jobId)], { user, env: env(remoteConfig) });
    expect(`${asUser.stdout}${asUser.stderr}`).toMatch(/Permission denied/i);
    const asRoot = await other.exec(["ccancel", String(jobId)], { env: env(remoteConfig) });
    expect(asRoot.code, asRoot.stderr).toBe(0);
    expect((await c.waitJob(jobId, finished, 30_000)).status).toBe("Cancelled");
  });

  it("no credential, a replayed one, or one made for something else is refused", async () => {
    const none = await query(undefined);
    expect(none.code).toBe(16);
    expect(none.details).toContain("carries no MUNGE credential");

    const cred = await credentialOf("crane-ctld-call");
    expect((await query(cred)).code).toBe(0);
    const replay = await query(cred);
    expect(replay.code).toBe(16);
    expect(replay.details).toMatch(/MUNGE credential refused: .*replay/i);

    const foreign = await query(await credentialOf("something else"));
    expect(foreign.code).toBe(16);
    expect(foreign.details).toContain("not made for a crane call");
  });
});
