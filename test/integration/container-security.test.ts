// A user's container on a real containerd, as an unprivileged Unix user sees it: it runs as the user, with
// no_new_privs and no capabilities (so a setuid-root binary of the image gains nothing), it mounts only allowed host
// paths (also when the CLI is skipped or a symbolic link points elsewhere), it gets no host network or low host
// port, and the pod network is "another host" to ctld: a forged call from there is refused.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectCri, type CriClient, listPodSandboxes, podSandboxStatus } from "../../src/core/cri";
import { BUSYBOX_IMAGE, writeBusyboxImageTar } from "../../src/core/cri/oci-image";
import { createUnixUser, rawCallAs, runAs, type RunResult, type UnixUser } from "../harness/attacker";
import { DIST, finished, startCluster, type TestCluster } from "../harness/cluster";
import { type ContainerdHarness, startContainerd } from "../harness/containerd";

const PROBE_IMAGE = "crane.local/suid-probe:1";

// Prints its real, effective and saved uid and what it read of a root-only file: installed setuid root, it shows
// whether the kernel honoured the setuid bit. Static, so that it runs in the busybox image.
const PROBE_SOURCE = `#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
int main(void) {
  uid_t r, e, s;
  char secret[64] = "denied";
  getresuid(&r, &e, &s);
  FILE *f = fopen("/root/secret", "r");
  if (f && !fgets(secret, sizeof secret, f)) secret[0] = 0;
  printf("uids %u %u %u\\nsecret %s\\n", r, e, s, secret);
  return 0;
}
`;

function compileProbe(dir: string): string {
  const src = path.join(dir, "probe.c");
  const bin = path.join(dir, "suid-probe");
  fs.writeFileSync(src, PROBE_SOURCE);
  try {
    execFileSync("gcc", ["-static", "-O2", "-o", bin, src], { stdio: "pipe" });
  } catch (e) {
    throw new Error(`cannot build the setuid probe (needs gcc and libc6-dev, which scripts/install-deps.sh installs): ${e}`);
  }
  return bin;
}

function statusField(status: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim();
}

describe("a user's container is confined by the servers, whatever the request says", () => {
  let ctrd: ContainerdHarness;
  let cri: CriClient;
  let c: TestCluster;
  let user: UnixUser;
  let work: string;
  const env = () => ({ CRANE_CONFIG: c.configFile, PATH: `${DIST}:/usr/bin:/bin` });
  const ccon = (args: string[], timeoutMs = 60_000): Promise<RunResult> => runAs(user, ["ccon", ...args], { env: env(), timeoutMs });
  const gateway = () => `${ctrd.subnet.split(".").slice(0, 3).join(".")}.1`;

  beforeAll(async () => {
    ctrd = await startContainerd();
    cri = connectCri({ runtimeEndpoint: ctrd.socket, timeoutMs: 10_000 });
    c = await startCluster({ runtimeEndpoint: ctrd.socket, extraArgs: ["--listen-addr", "0.0.0.0"] });
    user = createUnixUser();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "crane-csec-"));
    fs.chmodSync(work, 0o755);
    const probe = fs.readFileSync(compileProbe(work));
    const tar = path.join(work, "suid-probe.tar");
    writeBusyboxImageTar(tar, {
      images: [{ name: PROBE_IMAGE, cmd: ["/bin/suid-probe"] }],
      extraEntries: [
        { type: "file", path: "bin/suid-probe", mode: 0o4755, uid: 0, gid: 0, data: probe },
        { type: "file", path: "root/secret", mode: 0o600, uid: 0, gid: 0, data: "image-root-secret\n" },
      ],
    });
    await ctrd.importImage(tar);
  });

  afterAll(async () => {
    await c?.stop();
    cri?.close();
    await ctrd?.stop();
    user?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("runs as the job's user and groups, with no_new_privs and an empty capability bounding set", async () => {
    const r = await ccon(["run", "busybox", "sh", "-c", "id -u; id -g; id -G; cat /proc/self/status"]);
    expect(r.code, r.stderr).toBe(0);
    const [uid, gid, groups, ...status] = r.stdout.split("\n");
    expect(Number(uid)).toBe(user.uid);
    expect(Number(gid)).toBe(user.gid);
    expect(groups!.split(" ").map(Number).sort()).toEqual([user.gid, user.supplementaryGid].sort());
    const proc = status.join("\n");
    expect(statusField(proc, "NoNewPrivs")).toBe("1");
    for (const set of ["CapBnd", "CapEff", "CapPrm", "CapAmb"]) expect(statusField(proc, set), set).toBe("0000000000000000");
  });

  it("a setuid-root binary of the image gains nothing (which it does outside crane)", async () => {
    // The control: the same probe, setuid root on the host, run by the same user, does become root.
    const hostProbe = path.join(work, "host-probe");
    fs.copyFileSync(path.join(work, "suid-probe"), hostProbe);
    fs.chmodSync(hostProbe, 0o4755);
    const control = await runAs(user, [hostProbe]);
    expect(control.stdout).toContain(`uids ${user.uid} 0 0`);

    const r = await ccon(["run", PROBE_IMAGE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`uids ${user.uid} ${user.uid} ${user.uid}`);
    expect(r.stdout).toContain("secret denied");
  });

  it("asking for another uid, the host network or a host port below 1024 is refused for a user", async () => {
    const asRoot = await ccon(["run", "--user", "0", "busybox", "true"]);
    expect(asRoot.code).not.toBe(0);
    expect(asRoot.stderr).toContain("only the current user and its primary group are allowed in --user"); // the CLI's own check
    const host = await ccon(["run", "--network", "host", "busybox", "true"]);
    expect(host.code).not.toBe(0);
    expect(host.stderr).toContain("--network host is for administrators only");
    const lowPort = await ccon(["run", "-p", "80:80", "busybox", "true"]);
    expect(lowPort.code).not.toBe(0);
    expect(lowPort.stderr).toContain("host port 80 is below 1024");
    // Root may (the rule is about who asks, not what is asked).
    const root = await c.run("ccon", ["run", "--network", "host", "busybox", "true"]);
    expect(root.code, root.stderr).toBe(0);
  });

  it("the same requests sent straight to ctld, without the CLI, are refused", async () => {
    const submit = (podMeta: object, containerMeta: object) =>
      rawCallAs(user, undefined, {
        address: `127.0.0.1:${c.port}`,
        service: "CraneCtld",
        method: "SubmitBatchJob",
        request: {
          job: {
            type: "Container",
            uid: 0,
            gid: 0,
            nodeNum: 1,
            ntasks: 1,
            cpusPerTask: 1,
            cwd: user.home,
            submitDir: user.home,
            podMeta,
            containerMeta: { image: { image: BUSYBOX_IMAGE }, command: ["true"], ...containerMeta },
          },
        },
      });
    const refusals = [
      await submit({ runAsUser: 0, runAsGroup: 0 }, {}),
      await submit({ network: "NODE" }, {}),
      await submit({ ports: [{ hostPort: 22, containerPort: 22, protocol: "tcp" }] }, {}),
      await submit({}, { mounts: [{ hostPath: "/etc", containerPath: "/host-etc" }] }),
      await submit({}, { mounts: [{ hostPath: `${user.home}/../../etc`, containerPath: "/host-etc" }] }),
    ];
    for (const r of refusals) {
      expect(r.code, r.details).toBe(0); // a reply, not a transport error
      const reply = r.response as { ok?: boolean; jobId?: string; reason?: string };
      expect(reply.ok, JSON.stringify(reply)).toBeFalsy();
      expect(Number(reply.jobId ?? 0)).toBe(0);
    }
    expect(JSON.stringify(refusals[3]!.response)).toContain("Container.AllowedMountPaths");
    expect(JSON.stringify(refusals[4]!.response)).toContain("Container.AllowedMountPaths");
  });

  it("mounts only under the allowed paths, with symbolic links resolved on the node", async () => {
    const data = path.join(user.home, "data");
    await runAs(user, ["sh", "-c", `mkdir -p ${data} && echo mine > ${data}/f && ln -s /etc ${user.home}/etc-link`]);
    const allowed = await ccon(["run", "-v", `${data}:/data:ro`, "busybox", "cat", "/data/f"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toBe("mine\n");

    const outside = await ccon(["run", "-v", "/etc:/host-etc", "busybox", "true"]);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain("host path /etc may not be mounted");
    expect(outside.stderr).toContain("Container.AllowedMountPaths");

    // Under the home by name, /etc in fact: ctld cannot see that, the node refuses it before creating anything.
    const viaLink = await ccon(["run", "-d", "-v", `${user.home}/etc-link:/host-etc`, "busybox", "cat", "/host-etc/hostname"]);
    expect(viaLink.code, viaLink.stderr).toBe(0);
    const jobId = Number(viaLink.stdout.trim().split(".")[0]);
    const job = await c.waitJob(jobId, finished, 30_000);
    expect(job.status).toBe("Failed");
    const inspect = await c.run("ccon", ["inspect", viaLink.stdout.trim()]);
    expect(inspect.stdout).toContain("Container.AllowedMountPaths");
    expect(inspect.stdout).toContain("(/etc)");
  });

  it("a forged call from inside the pod network is refused: ctld cannot verify who is there", async () => {
    const run = await ccon(["run", "-d", "busybox", "sh", "-c", 'trap "exit 0" TERM; sleep 120 & wait']);
    expect(run.code, run.stderr).toBe(0);
    const jobId = Number(run.stdout.trim().split(".")[0]);
    await c.waitJob(jobId, (j) => j.status === "Running", 30_000);
    const [pod] = await listPodSandboxes(cri, { labels: { "crane.job": String(jobId) } });
    expect(pod).toBeDefined();
    const st = await podSandboxStatus(cri, pod!.id, { verbose: true });
    const spec = JSON.parse(st?.info.info ?? "{}") as { runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } } };
    const netns = spec.runtimeSpec?.linux?.namespaces?.find((n) => n.type === "network")?.path;
    expect(netns).toMatch(/^\/(var\/)?run\/netns\//);

    for (const who of [user, undefined]) {
      const r = await rawCallAs(who, path.basename(netns!), {
        address: `${gateway()}:${c.port}`,
        service: "CraneCtld",
        method: "CancelJob",
        request: { jobIds: [{ jobId }] },
        metadata: { "x-crane-uid": "0" },
      });
      expect(r.code, r.details).toBe(16); // UNAUTHENTICATED: it reached ctld, which refused it
      expect(r.details).toContain("AuthType local");
    }
    expect((await c.run("ccancel", [String(jobId)])).code).toBe(0);
    expect((await c.waitJob(jobId, finished, 30_000)).status).toBe("Cancelled");
  });
});
