// The cluster key: the secret of ctld (a root-only file on the control machine, like a munge key) from which every
// node's own key is derived (node-credential.ts). Only ctld needs it; nodes get their derived key.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** The key in `file`, created there (mode 0600) when missing, so a one-host cluster needs no setup. */
export function loadOrCreateClusterKey(file: string): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const draft = `${file}.${process.pid}.new`;
    fs.writeFileSync(draft, `${crypto.randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    try {
      fs.linkSync(draft, file); // atomic, and refused when another daemon created the key first
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      fs.rmSync(draft, { force: true });
    }
  }
  const stat = fs.statSync(file);
  if (stat.mode & 0o077) fs.chmodSync(file, 0o600);
  const key = fs.readFileSync(file, "utf8").trim();
  if (key.length < 32) throw new Error(`the cluster key in ${file} is too short (at least 32 characters); delete it to have a new one made`);
  return key;
}
