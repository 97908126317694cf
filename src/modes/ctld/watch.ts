// The WatchCluster stream: a snapshot of jobs and nodes, then only what changed, coalesced per watcher.
//
//   JobManager ──changes.jobs(records) / changes.node(name)──> WatchHub ──> Watcher (one per open stream)
//                                                                            pending: Map<jobId, record>
//                                                                            flush every interval_ms (default 200)
//
// Where changes come from: every job change that is saved reaches the hub once its transaction committed (the
// store's commit hook, wired in JobManager), plus the few changes ctld does not save (pending reasons, nodes
// going up or down). A watcher with nothing pending costs nothing: no timers run, no query is repeated, so 100,000
// queued jobs cost a watcher only its snapshot. Node allocations are derived from the jobs and re-sent only when
// they differ from what that watcher last got.
//
// Visibility is QueryJobsInfo's: any authenticated caller sees every job (and may narrow by user or job id), another
// user's without its private fields (privacy.ts, CraneCtld.PrivateData); actions (cancel, logs) are checked by their
// own RPCs.
import type * as grpc from "@grpc/grpc-js";
import type { ClusterEvent, JobInfo, NodeInfo, WatchClusterRequest } from "../../core/generated/crane/crane";
import type { Identity } from "../../core/identity";
import type { Logger } from "../../core/log";
import { nodeInfos, partitionInfos } from "./cluster-info";
import type { ChangeListener, JobManager } from "./job-manager";
import type { JobRecord } from "./records";
import { jobInfo } from "./job-info";
import { viewerOf, visibleJobInfo } from "./privacy";

export const DEFAULT_INTERVAL_MS = 200;
const MIN_INTERVAL_MS = 20;
const MAX_INTERVAL_MS = 10_000;
/** Jobs per event: keeps each message small (a JobInfo is a few hundred bytes) and lets other work interleave. */
export const JOBS_PER_EVENT = 500;

type Stream = grpc.ServerWritableStream<WatchClusterRequest, ClusterEvent>;

class Watcher {
  readonly pending = new Map<number, JobRecord>();
  nodesDirty = false;
  /** Node name -> what this watcher was last sent (without lastSeen, which moves with every heartbeat). */
  readonly sentNodes = new Map<string, string>();
  timer?: NodeJS.Timeout;
  syncing = true;
  waitingForDrain = false;
  closed = false;
  /** The JobInfo of a job as this watcher's caller may see it (set by serve). */
  show: (job: JobRecord) => JobInfo = (j) => jobInfo(j);
  private jobIdSet?: Set<number>;
  private userSet?: Set<string>;

  constructor(
    readonly call: Stream,
    readonly req: WatchClusterRequest,
    readonly intervalMs: number,
  ) {}

  wants(job: JobRecord): boolean {
    if (!this.req.jobs) return false;
    if (this.req.jobIds.length && !(this.jobIdSet ??= new Set(this.req.jobIds)).has(job.jobId)) return false;
    if (this.req.users.length && !(this.userSet ??= new Set(this.req.users)).has(job.username)) return false;
    return true;
  }

  /** Writes one event; false when the stream's buffer is full (wait for 'drain' before writing more). */
  write(ev: Partial<ClusterEvent>): boolean {
    return this.call.write({ reset: false, synced: false, nowMs: Date.now(), jobs: [], nodes: [], partitions: [], ...ev });
  }
}

export class WatchHub implements ChangeListener {
  private readonly watchers = new Set<Watcher>();
  /** Node infos are computed at most once per change, whatever the number of watchers. */
  private nodeCache?: NodeInfo[];

  constructor(
    private readonly jm: JobManager,
    private readonly log: Logger,
  ) {}

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Ends every open stream (ctld is stopping: a server shutdown waits for open calls). */
  closeAll(): void {
    for (const w of [...this.watchers]) {
      if (w.timer) clearTimeout(w.timer);
      w.closed = true;
      this.watchers.delete(w);
      w.call.end();
    }
  }

  // ------------------------------------------------------------------ changes in

  jobs(records: Iterable<JobRecord>): void {
    if (this.watchers.size === 0) return;
    let touchesNodes = false;
    for (const job of records) {
      if (job.nodes.length) touchesNodes = true;
      for (const w of this.watchers) {
        if (!w.wants(job)) continue;
        w.pending.set(job.jobId, job);
        this.arm(w);
      }
    }
    if (touchesNodes) this.nodesChanged();
  }

  node(_name: string): void {
    if (this.watchers.size === 0) return;
    this.nodesChanged();
  }

  private nodesChanged(): void {
    this.nodeCache = undefined;
    for (const w of this.watchers) {
      if (!w.req.nodes) continue;
      w.nodesDirty = true;
      this.arm(w);
    }
  }

  private currentNodes(): NodeInfo[] {
    this.nodeCache ??= nodeInfos(this.jm);
    return this.nodeCache;
  }

  // ------------------------------------------------------------------ streams out

  /** Serves one WatchCluster call until the client goes away. */
  async serve(call: Stream, caller: Identity): Promise<void> {
    const req = call.request;
    const interval = req.intervalMs ? Math.min(Math.max(req.intervalMs, MIN_INTERVAL_MS), MAX_INTERVAL_MS) : DEFAULT_INTERVAL_MS;
    const w = new Watcher(call, req, interval);
    const viewer = viewerOf(this.jm.config, caller.uid);
    w.show = (j) => visibleJobInfo(jobInfo(j), viewer, this.jm.config.privateData);
    const close = () => {
      if (w.closed) return;
      w.closed = true;
      if (w.timer) clearTimeout(w.timer);
      this.watchers.delete(w);
    };
    call.on("cancelled", close);
    call.on("close", close);
    call.on("error", close);
    call.on("drain", () => {
      w.waitingForDrain = false;
      if (!w.syncing) this.flush(w);
    });
    // Registered before the snapshot is taken: whatever changes while it is sent arrives afterwards as a change.
    this.watchers.add(w);
    try {
      await this.sendSnapshot(w);
    } catch (e) {
      this.log.warn(`watch stream: snapshot failed: ${(e as Error).message}`);
      close();
      call.destroy(e as Error);
      return;
    }
    w.syncing = false;
    if (w.pending.size || w.nodesDirty) this.flush(w);
  }

  private async sendSnapshot(w: Watcher): Promise<void> {
    const req = w.req;
    const nodes = req.nodes ? this.currentNodes() : [];
    for (const n of nodes) w.sentNodes.set(n.name, nodeKey(n));
    w.nodesDirty = false;
    const ids: number[] = [];
    let finished: JobRecord[] = [];
    if (req.jobs) {
      for (const job of this.jm.jobs.values()) if (w.wants(job)) ids.push(job.jobId);
      if (req.jobIds.length) {
        const gone = req.jobIds.filter((id) => !this.jm.jobs.has(id));
        if (gone.length) finished = this.jm.loadFinished(gone.length, gone).filter((j) => w.wants(j));
      }
    }
    const partitions = req.nodes ? partitionInfos(this.jm) : [];
    const firstJobs = finished.map((j) => w.show(j));
    let sent = 0;
    const more = () => sent < ids.length;
    // The first event resets the watcher's view; the last says the snapshot is complete.
    await this.send(w, { reset: true, synced: ids.length === 0, nodes, partitions, jobs: firstJobs });
    while (more() && !w.closed) {
      const chunk: JobInfo[] = [];
      while (more() && chunk.length < JOBS_PER_EVENT) {
        const id = ids[sent++]!;
        // A job that ended while the snapshot was being sent is sent as it ended (and once more as a change).
        const job = this.jm.jobs.get(id) ?? this.jm.findJob(id);
        if (job) chunk.push(w.show(job));
      }
      await this.send(w, { jobs: chunk, synced: !more() });
    }
  }

  /** Writes and, when the stream is full, waits until it drained (the snapshot must not pile up in memory). */
  private async send(w: Watcher, ev: Partial<ClusterEvent>): Promise<void> {
    if (w.closed) return;
    if (w.write(ev)) {
      // Let the rest of ctld run between chunks of a big snapshot.
      await new Promise((r) => setImmediate(r));
      return;
    }
    w.waitingForDrain = true;
    await new Promise<void>((resolve) => {
      const done = () => {
        w.call.off("drain", done);
        w.call.off("close", done);
        resolve();
      };
      w.call.on("drain", done);
      w.call.on("close", done);
    });
  }

  private arm(w: Watcher): void {
    if (w.timer || w.syncing || w.closed) return;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      this.flush(w);
    }, w.intervalMs);
  }

  /** Sends what changed for this watcher since its last event. */
  private flush(w: Watcher): void {
    if (w.closed || w.syncing || w.waitingForDrain) return;
    let nodes: NodeInfo[] = [];
    if (w.nodesDirty) {
      w.nodesDirty = false;
      for (const n of this.currentNodes()) {
        const key = nodeKey(n);
        if (w.sentNodes.get(n.name) === key) continue;
        w.sentNodes.set(n.name, key);
        nodes.push(n);
      }
    }
    const records = [...w.pending.values()];
    w.pending.clear();
    if (records.length === 0 && nodes.length === 0) return;
    for (let i = 0; i < records.length || nodes.length; i += JOBS_PER_EVENT) {
      const jobs = records.slice(i, i + JOBS_PER_EVENT).map((j) => w.show(j));
      const ok = w.write({ jobs, nodes });
      nodes = [];
      if (!ok) {
        // Slow reader: keep the rest (coalesced with later changes) until the stream drained.
        for (const j of records.slice(i + JOBS_PER_EVENT)) if (!w.pending.has(j.jobId)) w.pending.set(j.jobId, j);
        w.waitingForDrain = true;
        return;
      }
    }
  }
}

function nodeKey(n: NodeInfo): string {
  return JSON.stringify({ ...n, lastSeen: 0 });
}
