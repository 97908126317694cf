// The nodes ctld knows: configured resources, where each craned listens, when it was last heard from.
import { connectivityState } from "@grpc/grpc-js";
import type { CraneConfig } from "../../core/config";
import { deriveNodeKey } from "../../core/auth/node-credential";
import { cranedClient } from "../../core/rpc";
import type { CranedClient } from "../../core/generated/crane/services";
import type { Resources } from "./scheduler";
import { monotonicMs } from "../../core/clock";

export interface NodeEntry {
  name: string;
  partitions: string[];
  total: Resources;
  deviceFiles: Record<string, string[]>; // gres key -> device files, in allocation order
  address: string;
  registered: boolean;
  up: boolean;
  /** Wall-clock time of the last heartbeat (shown to users). */
  lastSeen: number;
  /** The same on the monotonic clock (what the node timeout is measured on). */
  lastSeenMono: number;
  reason: string;
  /** Set while an administrator has drained the node: it takes no new jobs, its running ones finish. */
  drainReason?: string;
  /** A node that refused a launch for its own sake (a full disk) gets no new jobs until then (monotonic ms). */
  unfitUntilMono?: number;
  containerEnabled: boolean;
  client?: CranedClient;
}

export function gresKey(name: string, type: string): string {
  return type ? `${name}:${type}` : name;
}

export class NodeRegistry {
  readonly nodes = new Map<string, NodeEntry>();

  /** clusterKey: each node's key, presented on every call to its craned, is derived from it. */
  constructor(
    config: CraneConfig,
    private readonly clusterKey = "",
  ) {
    for (const n of config.nodes) {
      const gres: Record<string, number> = {};
      const deviceFiles: Record<string, string[]> = {};
      for (const g of n.gres) {
        const key = gresKey(g.name, g.type);
        gres[key] = (gres[key] ?? 0) + g.count;
        deviceFiles[key] = [...(deviceFiles[key] ?? []), ...g.deviceFiles];
      }
      this.nodes.set(n.name, {
        name: n.name,
        partitions: config.partitions.filter((p) => p.nodes.includes(n.name)).map((p) => p.name),
        total: { cpu: n.cpu, memoryBytes: n.memoryBytes, gres },
        deviceFiles,
        address: `${n.address.includes(":") ? `[${n.address}]` : n.address}:${n.port}`,
        registered: false,
        up: false,
        lastSeen: 0,
        lastSeenMono: 0,
        reason: "not registered yet",
        containerEnabled: false,
      });
    }
  }

  get(name: string): NodeEntry | undefined {
    return this.nodes.get(name);
  }

  /** A node's key: what it must present to ctld and what ctld presents to it. */
  /** Node keys, derived once per node (every internal call is checked against one). */
  private readonly keys = new Map<string, string>();

  keyOf(name: string): string | undefined {
    if (!this.nodes.has(name)) return undefined;
    let key = this.keys.get(name);
    if (key === undefined) this.keys.set(name, (key = deriveNodeKey(this.clusterKey, name)));
    return key;
  }

  /** ctld dials the address the config gives for the node, never one that a caller sent. */
  markRegistered(name: string, containerEnabled: boolean): NodeEntry | undefined {
    const n = this.nodes.get(name);
    if (!n) return undefined;
    // A channel that is not connected may be waiting out a reconnect backoff after failed calls to the craned that was
    // away, failing every call at once meanwhile: the craned that registered gets a fresh one, which dials it now.
    if (n.client && n.client.getChannel().getConnectivityState(false) !== connectivityState.READY) {
      n.client.close();
      n.client = undefined;
    }
    n.client ??= cranedClient(n.address, { name, key: this.keyOf(name)! });
    // A node that was unfit (unreachable, its disk full) gets work again once it registers: it is back.
    Object.assign(n, { registered: true, up: true, reason: "", containerEnabled, unfitUntilMono: undefined });
    markSeen(n);
    return n;
  }

  /** Nodes silent for longer than the timeout; they are marked down and returned. */
  expire(timeoutMs: number, now = monotonicMs()): NodeEntry[] {
    const lost: NodeEntry[] = [];
    for (const n of this.nodes.values()) {
      if (n.up && now - n.lastSeenMono > timeoutMs) {
        n.up = false;
        n.registered = false;
        n.reason = `no heartbeat for ${Math.round((now - n.lastSeenMono) / 1000)} s`;
        lost.push(n);
      }
    }
    return lost;
  }

  close(): void {
    for (const n of this.nodes.values()) n.client?.close();
  }
}

/** A heartbeat (or registration) from the node, now. */
export function markSeen(n: NodeEntry): void {
  n.lastSeen = Date.now();
  n.lastSeenMono = monotonicMs();
}
