// The faults, each injected while a mix of jobs runs (workload.ts) on one cluster of two nodes that shares one private
// containerd with nothing else. Node faults hit the first node, with the mix placed there; ctld's state dir and the
// first node's state dir are small disks (tmpfs) of their own, so that they can be filled. A fault's row counts what
// its jobs lost and left behind; the cluster and containerd go on to the next fault.
import path from "node:path";
import { connectCri, type CriClient } from "../src/core/cri";
import { restartCraned, restartCtld, startCluster, type TestCluster, waitFor } from "../test/harness/cluster";
import { type ContainerdHarness, startContainerd } from "../test/harness/containerd";
import { FakeWallClock } from "../test/harness/faketime";
import { kill9, pidIn, terminate } from "../test/harness/processes";
import { emptyDisk, fillDisk, mountTmpfs, unmountTmpfs } from "../test/harness/tmpfs";
import { findLeftovers, type Leftovers, settledLeftovers } from "./leftovers";
import { RUN_SECONDS, Workload, type Outcome } from "./workload";

export interface FaultRow extends Outcome, Leftovers {
  fault: string;
  seconds: number;
}

/** How long the node may take to clean up after the last job ended (shorter than its 60 s housekeeping interval). */
const CLEANUP_MS = 20_000;
/** How long the jobs may take to end after the fault (their run time plus recovery). */
const END_MS = (RUN_SECONDS + 60) * 1000;
const DISK_SIZE = "16m";

/** ctld, or the first node's craned. */
type Daemon = "ctld" | "node";

export interface Fault {
  name: string;
  /** Where the mix runs: on the first node only (the fault is there), or anywhere. */
  onNode: boolean;
  /** Before the jobs start: nothing of the fault's runs yet. */
  prepare?(suite: FaultSuite): Promise<void>;
  /** Called while every job of the mix runs; returns once the fault is over (the daemon back, space returned). */
  inject(suite: FaultSuite, jobs: Workload): Promise<void>;
  /** After the jobs ended and were counted. */
  restore?(suite: FaultSuite): void;
}

export class FaultSuite {
  private readonly clocks = new Map<Daemon, FakeWallClock>();

  private constructor(
    readonly containerd: ContainerdHarness,
    readonly cluster: TestCluster,
    readonly cri: CriClient,
    private readonly disks: string[],
  ) {}

  static async start(): Promise<FaultSuite> {
    const containerd = await startContainerd();
    const disks: string[] = [];
    try {
      const cluster = await startCluster({
        nodes: 2,
        runtimeEndpoint: containerd.socket,
        beforeUp: (dir, nodes) => {
          for (const d of [path.join(dir, "ctld"), path.join(dir, "craned", nodes[0]!)]) {
            mountTmpfs(d, DISK_SIZE);
            disks.push(d);
          }
        },
      });
      return new FaultSuite(containerd, cluster, connectCri({ runtimeEndpoint: containerd.socket, timeoutMs: 10_000 }), disks);
    } catch (e) {
      for (const d of disks) unmountTmpfs(d);
      await containerd.stop();
      throw e;
    }
  }

  /** The node every node fault hits. */
  get node(): string {
    return this.cluster.nodes[0]!;
  }

  stateDir(daemon: Daemon): string {
    return daemon === "ctld" ? path.join(this.cluster.dir, "ctld") : path.join(this.cluster.dir, "craned", this.node);
  }

  /** Runs one fault against a fresh mix of jobs and counts what they lost and left behind. */
  async run(fault: Fault, index: number): Promise<FaultRow> {
    const began = performance.now();
    await fault.prepare?.(this);
    const jobs = new Workload(this.cluster, `f${index}`, fault.onNode ? this.node : undefined);
    await jobs.submitMix();
    await jobs.waitAllRunning();
    await fault.inject(this, jobs);
    const outcome = await jobs.judge(END_MS);
    await jobs.cancelLeftovers();
    const leftovers = await settledLeftovers(this.cluster, this.cri, new Set(jobs.jobs.map((j) => j.jobId)), CLEANUP_MS);
    fault.restore?.(this);
    return { fault: fault.name, ...outcome, ...leftovers, seconds: Math.round((performance.now() - began) / 1000) };
  }

  /** Stops the cluster and containerd; returns what the purged cluster still left. */
  async stop(): Promise<Leftovers> {
    try {
      await this.cluster.stop();
      return await findLeftovers(this.cluster, this.cri, "all");
    } finally {
      this.cri.close();
      for (const d of this.disks) unmountTmpfs(d);
      for (const c of this.clocks.values()) c.remove();
      await this.containerd.stop();
    }
  }

  // ---------------------------------------------------------------------------------------------- daemons

  ctldPid(): number {
    return this.cluster.pids().ctld;
  }

  cranedPid(): number {
    return this.cluster.pids().craneds[this.node]!;
  }

  /** The node's supervisor, or undefined while its pid file is being replaced. */
  supervisorPid(): number | undefined {
    try {
      return pidIn(path.join(this.stateDir("node"), "supervisor.pid"));
    } catch {
      return undefined;
    }
  }

  /**
   * The fake wall clock of a daemon, at offset 0. The first time, the daemon is restarted (gracefully, while nothing
   * runs) under it; it stays there for the suite's later faults.
   */
  async clockOf(daemon: Daemon): Promise<FakeWallClock> {
    const known = this.clocks.get(daemon);
    if (known) return known;
    const clock = new FakeWallClock();
    this.clocks.set(daemon, clock);
    if (daemon === "ctld") {
      await terminate(this.ctldPid());
      restartCtld(this.cluster, clock.env);
    } else {
      await terminate(this.cranedPid());
      restartCraned(this.cluster, this.node, clock.env);
    }
    await this.waitNodesUp();
    return clock;
  }

  private async waitNodesUp(): Promise<void> {
    await waitFor(
      "every node to be up",
      async () => {
        const r = await this.cluster.run("cinfo", ["--json"]);
        if (r.code !== 0) return false;
        const nodes = (JSON.parse(r.stdout) as { nodes: { state: string }[] }).nodes;
        return nodes.length === this.cluster.nodes.length && nodes.every((n) => n.state !== "down");
      },
      30_000,
    );
  }
}

// ------------------------------------------------------------------------------------------------ the faults

function clockJump(daemon: Daemon, offset: string): Fault {
  let clock: FakeWallClock | undefined;
  return {
    name: `clock ${offset.replace(/s$/, " s")} on ${daemon === "ctld" ? "ctld" : "craned"}`,
    onNode: daemon === "node",
    async prepare(suite) {
      clock = await suite.clockOf(daemon);
    },
    async inject() {
      clock!.set(offset);
    },
    restore() {
      clock!.set("+0");
    },
  };
}

function diskFull(daemon: Daemon): Fault {
  return {
    name: `full disk under ${daemon === "ctld" ? "ctld" : "craned"}`,
    onNode: daemon === "node",
    async inject(suite, jobs) {
      const disk = suite.stateDir(daemon);
      fillDisk(disk);
      try {
        // A submission meanwhile may be refused; one that is accepted must run to its end like any other.
        const tag = `${daemon}-full`;
        const r = await jobs.batch(tag, `echo start-${tag}; sleep 1; echo done-${tag}`, {
          status: "Completed",
          exitCode: 0,
          lines: [`start-${tag}`, `done-${tag}`],
        });
        // The disk stays full until the node has started the accepted job, failed to, or refused it back to the queue.
        if (r.code === 0) await jobs.waitStarted(tag, { orRequeued: true });
      } finally {
        emptyDisk(disk);
      }
    },
  };
}

export const FAULTS: Fault[] = [
  {
    name: "kill -9 ctld, restart",
    onNode: false,
    async inject(suite) {
      await kill9(suite.ctldPid());
      restartCtld(suite.cluster);
    },
  },
  {
    name: "kill -9 craned, restart",
    onNode: true,
    async inject(suite) {
      await kill9(suite.cranedPid());
      restartCraned(suite.cluster, suite.node);
    },
  },
  {
    name: "kill -9 supervisor",
    onNode: true,
    async inject(suite) {
      const old = suite.supervisorPid();
      if (old === undefined) throw new Error(`node ${suite.node} has no supervisor`);
      await kill9(old);
      await waitFor("craned to start a new supervisor", () => ![undefined, old].includes(suite.supervisorPid()), 15_000);
    },
  },
  {
    name: "kill -9 containerd, restart",
    onNode: false,
    async inject(suite) {
      await suite.containerd.restart("SIGKILL");
    },
  },
  {
    name: "containerd SIGTERM, start",
    onNode: false,
    async inject(suite) {
      await suite.containerd.restart("SIGTERM");
    },
  },
  clockJump("ctld", "+120s"),
  clockJump("ctld", "-120s"),
  clockJump("node", "+120s"),
  clockJump("node", "-120s"),
  diskFull("ctld"),
  diskFull("node"),
];
