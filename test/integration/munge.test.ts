// src/core/auth/munge.ts against a real, private munged (test/harness/munge.ts).
// Needs /usr/sbin/munged; the second-user test also needs root, useradd and setpriv. Skipped with the reason otherwise.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MungeError, mungeDecode, mungeEncode } from "../../src/core/auth/munge";
import { type MungedHarness, mungedMissingReason, startMunged } from "../harness/munge";

const REPO = path.resolve(__dirname, "../..");
const unavailable = mungedMissingReason();
const notRoot = process.getuid?.() !== 0 ? "needs root to add a user and switch to it" : undefined;

async function failure(promise: Promise<unknown>): Promise<MungeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof MungeError)) throw new Error(`expected a MungeError, got ${String(err)}`);
  return err;
}

describe.skipIf(Boolean(unavailable))(`MUNGE client against a private munged${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let munged: MungedHarness;
  let socketPath: string;

  beforeAll(async () => {
    munged = await startMunged();
    socketPath = munged.socket;
  });

  afterAll(async () => {
    await munged?.stop();
  });

  it("round-trips a binary payload with root's identity", async () => {
    const payload = Buffer.from([0, 1, 2, 0xff, 0x00, 0x41]);
    const before = Math.floor(Date.now() / 1000);
    const cred = await mungeEncode({ socketPath, payload });
    expect(cred).toMatch(/^MUNGE:[A-Za-z0-9+/]+=*:$/);
    const decoded = await mungeDecode(cred, { socketPath });
    expect(decoded.uid).toBe(0);
    expect(decoded.gid).toBe(0);
    expect(decoded.payload).toEqual(payload);
    expect(decoded.ttl).toBe(300);
    expect(decoded.addr).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(decoded.encodeTime).toBeGreaterThanOrEqual(before);
    expect(decoded.decodeTime).toBeGreaterThanOrEqual(decoded.encodeTime);
    expect(decoded.decodeTime).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });

  it("round-trips an empty payload and honours a requested ttl", async () => {
    const decoded = await mungeDecode(await mungeEncode({ socketPath, ttl: 42 }), { socketPath });
    expect(decoded.payload.length).toBe(0);
    expect(decoded.ttl).toBe(42);
  });

  it("rejects a second decode of the same credential as replayed (17)", async () => {
    const cred = await mungeEncode({ socketPath, payload: Buffer.from("once") });
    await mungeDecode(cred, { socketPath });
    const err = await failure(mungeDecode(cred, { socketPath }));
    expect(err.code).toBe(17);
    expect(err.message).toContain("Replayed credential");
  });

  it("rejects a tampered credential as invalid (14)", async () => {
    const cred = await mungeEncode({ socketPath, payload: Buffer.from("tamper me") });
    const at = Math.floor(cred.length / 2);
    const tampered = cred.slice(0, at) + (cred[at] === "A" ? "B" : "A") + cred.slice(at + 1);
    expect(tampered).not.toBe(cred);
    expect((await failure(mungeDecode(tampered, { socketPath }))).code).toBe(14);
  });

  it("rejects an expired credential (15)", async () => {
    const cred = await mungeEncode({ socketPath, ttl: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2500)); // munged's clock has whole seconds
    const err = await failure(mungeDecode(cred, { socketPath }));
    expect(err.code).toBe(15);
    expect(err.message).toContain("Expired credential");
  });

  it("rejects a credential from a munged with another key (14)", async () => {
    const other = await startMunged();
    try {
      const foreign = await mungeEncode({ socketPath: other.socket });
      expect((await failure(mungeDecode(foreign, { socketPath }))).code).toBe(14);
    } finally {
      await other.stop();
    }
  });

  it("survives a burst of 500 concurrent round trips", async () => {
    const creds = await Promise.all(Array.from({ length: 500 }, (_, i) => mungeEncode({ socketPath, payload: Buffer.from(`job-${i}`) })));
    const decoded = await Promise.all(creds.map((cred) => mungeDecode(cred, { socketPath })));
    expect(decoded.map((d) => d.payload.toString())).toEqual(creds.map((_, i) => `job-${i}`));
  });

  it("fails fast with the socket's path once munged is stopped", async () => {
    const gone = await startMunged();
    await mungeDecode(await mungeEncode({ socketPath: gone.socket }), { socketPath: gone.socket });
    await gone.stop();
    const err = await failure(mungeEncode({ socketPath: gone.socket, timeoutMs: 3000 }));
    expect(err.code).toBe(6);
    expect(err.message).toContain(`cannot reach munged at ${gone.socket}`);
  });

  describe.skipIf(Boolean(notRoot))(`as a second, unprivileged user${notRoot ? ` (skipped: ${notRoot})` : ""}`, () => {
    const user = `cranemunge${process.pid}`;
    let uid: number;
    let gid: number;
    let scratch: string;

    beforeAll(() => {
      execFileSync("useradd", ["--no-create-home", "--shell", "/bin/sh", user]);
      uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
      gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
      scratch = fs.mkdtempSync("/tmp/crane-munge-user-");
      fs.chmodSync(scratch, 0o755);
      execFileSync(path.join(REPO, "node_modules/.bin/esbuild"), [
        path.join(REPO, "src/core/auth/munge.ts"),
        "--bundle",
        "--platform=node",
        "--format=cjs",
        `--outfile=${path.join(scratch, "munge.cjs")}`,
        "--log-level=warning",
      ]);
      fs.writeFileSync(
        path.join(scratch, "encode.cjs"),
        `const { mungeEncode } = require("./munge.cjs");
mungeEncode({ socketPath: process.argv[2], payload: Buffer.from(process.argv[3]) }).then(
  (cred) => process.stdout.write(cred),
  (err) => { console.error(err.message); process.exit(1); },
);
`,
      );
      for (const f of ["munge.cjs", "encode.cjs"]) fs.chmodSync(path.join(scratch, f), 0o644);
    });

    afterAll(() => {
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
      execFileSync("userdel", [user], { stdio: "ignore" });
    });

    it("decodes a credential encoded by that user with its uid and gid", async () => {
      expect(uid).toBeGreaterThan(0);
      const cred = execFileSync(
        "setpriv",
        [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", process.execPath, path.join(scratch, "encode.cjs"), socketPath, "from the second user"],
        { cwd: scratch, encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
      );
      const decoded = await mungeDecode(cred, { socketPath });
      expect(decoded.uid).toBe(uid);
      expect(decoded.gid).toBe(gid);
      expect(decoded.payload.toString()).toBe("from the second user");
    });
  });
});
