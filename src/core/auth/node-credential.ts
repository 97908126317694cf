// Node identity. Each node holds its own key, derived from the cluster key by ctld: HMAC-SHA256(cluster key,
// node name). ctld can compute every node's key; a node knows only its own, so a node (or whoever stole its key)
// can register, report and be called only as itself. Calls in both directions carry the node's name and key:
// craned -> ctld to say which node is calling, ctld -> craned to prove it is ctld that calls.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";

export const NODE_NAME_HEADER = "x-crane-node";
export const NODE_KEY_HEADER = "x-crane-node-key";

export function deriveNodeKey(clusterKey: string, node: string): string {
  return crypto.createHmac("sha256", clusterKey).update(`crane node ${node}`).digest("hex");
}

export function keysMatch(presented: unknown, key: string): boolean {
  if (typeof presented !== "string") return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(key);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Adds a node's name and key to every call of a client. */
export function nodeCredentialInterceptor(node: string, key: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(NODE_NAME_HEADER, node);
        metadata.set(NODE_KEY_HEADER, key);
        next(metadata, listener);
      },
    });
}

/** The node a call says it comes from, when its key is that node's (per `keyOf`); undefined otherwise. */
export function verifiedNode(metadata: grpc.Metadata, keyOf: (node: string) => string | undefined): string | undefined {
  const node = metadata.get(NODE_NAME_HEADER)[0];
  if (typeof node !== "string" || !node) return undefined;
  const key = keyOf(node);
  return key !== undefined && keysMatch(metadata.get(NODE_KEY_HEADER)[0], key) ? node : undefined;
}

/**
 * A safeHandlers `authenticate` hook: the call must carry a node's name and that node's key (per `keyOf`), else it
 * is refused as UNAUTHENTICATED with `refusal` after the method's name.
 */
export function requireNodeKey(keyOf: (node: string) => string | undefined, refusal: string) {
  return (call: { metadata: grpc.Metadata }, method: string): void => {
    if (verifiedNode(call.metadata, keyOf) !== undefined) return;
    throw Object.assign(new Error(`${method} ${refusal}`), { code: grpc.status.UNAUTHENTICATED });
  };
}

/** The node key file's path for a node: `%n` in the configured path stands for the node name. */
export function nodeKeyPath(pattern: string, node: string): string {
  return pattern.replaceAll("%n", node);
}

/**
 * A node's key: read from its file, or, where this host also holds the cluster key (the control machine, or a
 * one-host cluster), derived and saved there (0600).
 */
export function loadNodeKey(file: string, node: string, clusterKeyFile: string): string {
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file, "utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(key))
      throw new Error(`the node key in ${file} is malformed (64 hex digits expected); make it again with \`crane node-key ${node}\` on the control machine`);
    return key;
  }
  if (!fs.existsSync(clusterKeyFile)) {
    throw new Error(
      `node ${node} has no key at ${file}: on the control machine run \`crane node-key ${node} > node.key\`, then install it here as ${file} (owner root, mode 0600)`,
    );
  }
  const key = deriveNodeKey(fs.readFileSync(clusterKeyFile, "utf8").trim(), node);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
