// Modes of the daemons' state (design.md: state is 0700/0600): ctld's database, craned's state directory and the
// directory of a `crane up` cluster, for a new install and for one made before the rule (fixed at start).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { writeLocalConfig } from "../../src/core/local-cluster";
import { NodeLayout } from "../../src/core/node/layout";
import { JobStore } from "../../src/modes/ctld/store";

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "crane-modes-"));
  fs.chmodSync(d, 0o755);
  dirs.push(d);
  return d;
};

afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("file modes", () => {
  it("ctld: state directory 0700, database and its -wal and -shm 0600, umask restored", async () => {
    const dir = path.join(tmp(), "ctld");
    const umask = process.umask();
    const store = new JobStore(dir);
    try {
      expect(process.umask()).toBe(umask);
      const job = { jobId: store.allocateJobId(), status: 0 } as never;
      await store.save(job);
      expect(mode(dir)).toBe(0o700);
      for (const f of ["crane.db", "crane.db-wal", "crane.db-shm"]) {
        expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
        expect(mode(path.join(dir, f)), f).toBe(0o600);
      }
    } finally {
      store.close();
    }
  });

  it("ctld: an old install (0755 directory, 0644 database) is fixed at start", () => {
    const dir = path.join(tmp(), "ctld");
    new JobStore(dir).close();
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, "crane.db"), 0o644);
    const store = new JobStore(dir);
    try {
      expect(mode(dir)).toBe(0o700);
      expect(mode(path.join(dir, "crane.db"))).toBe(0o600);
      for (const f of ["crane.db-wal", "crane.db-shm"]) if (fs.existsSync(path.join(dir, f))) expect(mode(path.join(dir, f)), f).toBe(0o600);
    } finally {
      store.close();
    }
  });

  it("craned: state directory with logs/, runtime directory with steps/, jobs/, scripts/, all 0700, parents untouched", () => {
    const base = tmp();
    const state = path.join(base, "craned", "n1");
    const runtime = path.join(base, "run", "n1");
    fs.mkdirSync(path.join(state, "logs"), { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(runtime, "steps"), { recursive: true, mode: 0o755 });
    new NodeLayout(state, runtime).ensure();
    for (const d of [state, path.join(state, "logs"), runtime, ...["steps", "jobs", "scripts"].map((d) => path.join(runtime, d))])
      expect(mode(d), d).toBe(0o700);
    expect(mode(base)).toBe(0o755);
  });

  // An unprivileged user who made the runtime directory (or a directory above it) first could swap a step's files
  // for links to anywhere root then writes.
  it("craned: refuses a runtime directory that another user owns, or under a directory others may write to", () => {
    const base = tmp();
    fs.chmodSync(base, 0o755);
    const theirs = path.join(base, "theirs");
    fs.mkdirSync(theirs);
    fs.chownSync(theirs, 65534, 65534);
    expect(() => new NodeLayout(path.join(base, "state"), path.join(theirs, "n1")).ensure()).toThrow(/theirs belongs to uid 65534/);
    const open = path.join(base, "open");
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    expect(() => new NodeLayout(path.join(base, "state"), path.join(open, "n1")).ensure()).toThrow(/open is writable by other users and not sticky/);
    fs.chmodSync(open, 0o1777); // as /tmp and /dev/shm: others cannot rename what root made there
    expect(() => new NodeLayout(path.join(base, "state"), path.join(open, "n1")).ensure()).not.toThrow();
    const link = path.join(open, "link");
    fs.symlinkSync(theirs, link);
    expect(() => new NodeLayout(path.join(base, "state"), path.join(link, "n2")).ensure()).toThrow(/belongs to uid 65534/);
  });

  it("crane up: cluster directory 0711 (not listable), config.yaml 0644 (users' commands read it)", () => {
    const dir = path.join(tmp(), "local");
    fs.mkdirSync(dir, { mode: 0o755 });
    const file = writeLocalConfig({ dir, nodes: 1, port: 31000, runtimeEndpoint: "/nonexistent.sock", containers: false, cpusPerNode: 1, memoryPerNode: "1G" });
    expect(mode(dir)).toBe(0o711);
    expect(mode(file)).toBe(0o644);
    // Written again over an existing file whose mode was changed: 0644 again.
    fs.chmodSync(file, 0o600);
    const runtimeDir = loadConfig(file).cranedRuntimeDir;
    expect(mode(runtimeDir)).toBe(0o700);
    writeLocalConfig({ dir, nodes: 1, port: 31000, runtimeEndpoint: "/nonexistent.sock", containers: false, cpusPerNode: 1, memoryPerNode: "1G" });
    expect(mode(file)).toBe(0o644);
    expect(loadConfig(file).cranedRuntimeDir, "a restarted cluster finds its steps again").toBe(runtimeDir);
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  });
});
