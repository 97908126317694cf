// Client side of ctld's WatchCluster stream (crane top, progress while waiting): keeps a local copy of the jobs and
// nodes from the snapshot and the changes that follow, and reconnects (with a fresh snapshot) when ctld goes away.
//
//   const view = new ClusterView();
//   const w = openWatch(ctld, { jobs: true, nodes: true }, { onEvent: (ev) => { view.apply(ev); redraw(view); } });
//   ...
//   w.close();
import type * as grpc from "@grpc/grpc-js";
import type { ClusterEvent, JobInfo, NodeInfo, PartitionInfo, WatchClusterRequest } from "../generated/crane/crane";
import { isTerminal } from "../job-state";
import { grpcErrorSuffix } from "../rpc/status";
import type { CtldConnection } from "./ctld";

/** How long a job that ended stays in the view (it shows as ended, then disappears). */
export const ENDED_KEEP_MS = 5 * 60_000;

/** The cluster as the watch stream has described it so far. */
export class ClusterView {
  readonly jobs = new Map<number, JobInfo>();
  readonly nodes = new Map<string, NodeInfo>();
  partitions: PartitionInfo[] = [];
  /** The snapshot has been received completely. */
  synced = false;
  /** ctld's clock minus ours, from the last event (elapsed times use ctld's clock). */
  clockOffsetMs = 0;
  /** Bumped on every applied event, for memoised views. */
  version = 0;
  /** When each ended job was first seen ended (local clock). */
  private readonly endedAt = new Map<number, number>();

  apply(ev: ClusterEvent, now = Date.now()): void {
    if (ev.reset) {
      this.jobs.clear();
      this.nodes.clear();
      this.endedAt.clear();
      this.partitions = [];
      this.synced = false;
    }
    if (ev.nowMs) this.clockOffsetMs = ev.nowMs - now;
    for (const j of ev.jobs) {
      this.jobs.set(j.jobId, j);
      if (isTerminal(j.status) && !this.endedAt.has(j.jobId)) this.endedAt.set(j.jobId, now);
    }
    for (const n of ev.nodes) this.nodes.set(n.name, n);
    if (ev.partitions.length) this.partitions = ev.partitions;
    if (ev.synced) this.synced = true;
    this.version++;
  }

  /** Forgets jobs that ended more than `keepMs` ago. Returns whether anything was dropped. */
  prune(now = Date.now(), keepMs = ENDED_KEEP_MS): boolean {
    let dropped = false;
    for (const [id, at] of this.endedAt) {
      if (now - at < keepMs) continue;
      this.endedAt.delete(id);
      this.jobs.delete(id);
      dropped = true;
    }
    if (dropped) this.version++;
    return dropped;
  }

  /** ctld's current time, estimated. */
  serverNow(now = Date.now()): number {
    return now + this.clockOffsetMs;
  }
}

export interface WatchHandlers {
  onEvent(ev: ClusterEvent): void;
  /** The stream broke; `retryInMs` later it is opened again (the next event then has reset = true). */
  onDisconnect?(reason: string, retryInMs: number): void;
}

export interface WatchHandle {
  close(): void;
}

export type WatchRequest = Partial<WatchClusterRequest>;

export function watchRequest(r: WatchRequest): WatchClusterRequest {
  return { jobs: false, nodes: false, jobIds: [], users: [], intervalMs: 0, ...r };
}

/** Opens the watch stream and keeps it open until close(): on any error it reconnects with a growing delay. */
export function openWatch(ctld: CtldConnection, req: WatchRequest, handlers: WatchHandlers): WatchHandle {
  let call: grpc.ClientReadableStream<ClusterEvent> | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = 250;
  const connect = async () => {
    const client = await ctld.streams();
    if (closed) return;
    const c = client.watchCluster(watchRequest(req));
    call = c;
    c.on("data", (ev: ClusterEvent) => {
      delay = 250;
      handlers.onEvent(ev);
    });
    const broken = (reason: string) => {
      if (closed || call !== c) return;
      call = undefined;
      handlers.onDisconnect?.(reason, delay);
      retryTimer = setTimeout(() => void connect(), delay);
      delay = Math.min(delay * 2, 5_000);
    };
    c.on("error", (e) => broken(grpcErrorSuffix(e)));
    c.on("end", () => broken("ctld ended the watch stream"));
  };
  void connect();
  return {
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      call?.cancel();
      call = undefined;
    },
  };
}
