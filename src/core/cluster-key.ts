// The cluster key: a secret shared by ctld and every craned (a root-only file, like a munge key), sent with every
// call between the daemons. Without it any local user could call a craned directly (ExecuteStep runs a command as
// any uid) or forge a node's reports to ctld.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const CLUSTER_KEY_HEADER = "x-crane-cluster-key";

/**
 * The key in `file`, created there (mode 0600) when missing, so a one-host cluster needs no setup; on a cluster of
 * several hosts the file must be copied from the control machine to every node.
 */
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
  const key = fs.readFileSync(file, "utf8").trim();
  if (key.length < 32) throw new Error(`the cluster key in ${file} is too short (at least 32 characters); delete it to have a new one made`);
  return key;
}

/** Constant-time comparison of a presented key with ours. */
export function clusterKeyMatches(presented: unknown, key: string): boolean {
  if (typeof presented !== "string") return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(key);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
