import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerConfig } from "../../src/core/config";
import { allowedMountRoots, checkContainerPolicy, isUnder, type PolicySubject, PolicyViolation, resolveMountsOnNode } from "../../src/core/container-policy";
import { type ContainerMeta, type PodMeta, PodMeta_NetworkMode } from "../../src/core/generated/crane/crane";

const config = (allowedMountPaths = ["{home}", "{submit_dir}", "/tmp"]) => ({ allowedMountPaths }) as ContainerConfig;
const user: PolicySubject = { uid: 1000, gid: 1000, home: "/home/alice", submitDir: "/scratch/alice/run1", isAdmin: false };
const admin: PolicySubject = { ...user, isAdmin: true };
const root: PolicySubject = { uid: 0, gid: 0, home: "/root", submitDir: "/", isAdmin: true };

const pod = (p: Partial<PodMeta> = {}): PodMeta => ({ name: "", network: PodMeta_NetworkMode.POD, userns: false, ports: [], dnsServers: [], ...p });
const container = (mounts: { hostPath: string; containerPath: string }[] = []): ContainerMeta =>
  ({ mounts: mounts.map((m) => ({ ...m, readonly: false })) }) as unknown as ContainerMeta;

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PolicyViolation) return e.message;
    throw e;
  }
  throw new Error("expected a PolicyViolation");
}

describe("checkContainerPolicy", () => {
  it("lets a user's ordinary container through", () => {
    expect(() => checkContainerPolicy(pod({ runAsUser: 1000, runAsGroup: 1000 }), container(), user, config())).not.toThrow();
  });

  it("runs a user's container as the user outside a user namespace, any id inside one", () => {
    expect(refusal(() => checkContainerPolicy(pod({ runAsUser: 0 }), container(), user, config()))).toContain("--user 0");
    expect(refusal(() => checkContainerPolicy(pod({ runAsGroup: 0 }), container(), user, config()))).toContain("group 0");
    expect(() => checkContainerPolicy(pod({ userns: true, runAsUser: 0, runAsGroup: 0 }), container(), user, config())).not.toThrow();
    // Admins are not root: the rule holds for them too.
    expect(() => checkContainerPolicy(pod({ runAsUser: 0 }), container(), admin, config())).toThrow(PolicyViolation);
  });

  it("keeps the host network and host ports below 1024 for administrators", () => {
    const hostNet = pod({ network: PodMeta_NetworkMode.NODE });
    expect(refusal(() => checkContainerPolicy(hostNet, container(), user, config()))).toContain("AdminUids");
    expect(() => checkContainerPolicy(hostNet, container(), admin, config())).not.toThrow();
    const port = (hostPort: number) => pod({ ports: [{ hostPort, containerPort: 80, protocol: "TCP", hostIp: "" }] });
    expect(refusal(() => checkContainerPolicy(port(1023), container(), user, config()))).toContain("host port 1023 is below 1024");
    expect(() => checkContainerPolicy(port(1024), container(), user, config())).not.toThrow();
    expect(() => checkContainerPolicy(port(0), container(), user, config())).not.toThrow(); // no host port at all
    expect(() => checkContainerPolicy(port(80), container(), admin, config())).not.toThrow();
  });

  it("mounts only under the allowed roots, after normalising the path", () => {
    const mount = (hostPath: string) => container([{ hostPath, containerPath: "/data" }]);
    for (const ok of ["/home/alice", "/home/alice/data", "/scratch/alice/run1/in", "/tmp/x"]) {
      expect(() => checkContainerPolicy(pod(), mount(ok), user, config()), ok).not.toThrow();
    }
    for (const bad of ["/etc", "/home/alicebob", "/home/alice/../bob", "/scratch/alice", "/tmpfoo", "/"]) {
      expect(
        refusal(() => checkContainerPolicy(pod(), mount(bad), user, config())),
        bad,
      ).toContain("(Container.AllowedMountPaths)");
    }
    expect(refusal(() => checkContainerPolicy(pod(), mount("data"), user, config()))).toContain("must be an absolute path");
    expect(refusal(() => checkContainerPolicy(pod(), container([{ hostPath: "/tmp", containerPath: "rel" }]), user, config()))).toContain("mount target");
    expect(() => checkContainerPolicy(pod(), mount("/etc"), root, config())).not.toThrow();
    expect(refusal(() => checkContainerPolicy(pod(), mount("/tmp/x"), user, config([])))).toContain("only under nothing");
  });
});

describe("allowedMountRoots and isUnder", () => {
  it("fills the placeholders and drops one that has no value", () => {
    expect(allowedMountRoots(config(["{home}/work", "{submit_dir}", "/data/"]), user)).toEqual(["/home/alice/work", "/scratch/alice/run1", "/data/"]);
    expect(allowedMountRoots(config(), { ...user, home: "", submitDir: "" })).toEqual(["/tmp"]);
  });

  it("is a path-component prefix, not a string prefix", () => {
    expect(isUnder("/home/alice", "/home/alice")).toBe(true);
    expect(isUnder("/home/alice/x", "/home/alice/")).toBe(true);
    expect(isUnder("/home/alicex", "/home/alice")).toBe(false);
    expect(isUnder("/anything", "/")).toBe(true);
  });
});

describe("resolveMountsOnNode", () => {
  let dir: string;
  let home: string;
  let subject: PolicySubject;

  beforeAll(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "crane-policy-")));
    home = path.join(dir, "home");
    fs.mkdirSync(path.join(home, "data"), { recursive: true });
    fs.mkdirSync(path.join(dir, "secret"));
    fs.symlinkSync(path.join(dir, "secret"), path.join(home, "link-out"));
    fs.symlinkSync(path.join(home, "data"), path.join(home, "link-in"));
    subject = { ...user, home, submitDir: "" };
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const only = (allowed: string[]) => config(allowed);
  const mount = (hostPath: string) => container([{ hostPath, containerPath: "/data" }]);

  it("resolves symbolic links and hands the runtime the real path", () => {
    expect(resolveMountsOnNode(mount(path.join(home, "link-in")), subject, only(["{home}"]))[0]!.hostPath).toBe(path.join(home, "data"));
  });

  it("refuses a link that leads out of the allowed roots, naming where it leads", () => {
    const msg = refusal(() => resolveMountsOnNode(mount(path.join(home, "link-out")), subject, only(["{home}"])));
    expect(msg).toContain(`(${path.join(dir, "secret")})`);
    expect(msg).toContain("Container.AllowedMountPaths");
  });

  it("refuses a source that does not exist, and leaves root's mounts alone", () => {
    expect(refusal(() => resolveMountsOnNode(mount(path.join(home, "missing")), subject, only(["{home}"])))).toContain("does not exist on this node");
    const rootMounts = mount("/nonexistent");
    expect(resolveMountsOnNode(rootMounts, root, only([]))).toBe(rootMounts.mounts);
  });
});
