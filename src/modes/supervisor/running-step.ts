// What the node's supervisor holds for each step it hosts, whatever its kind (process, pod, container).
import type { CgroupUsage } from "../../core/cgroup";
import type { CriClient } from "../../core/cri";
import type { JobStatus } from "../../core/generated/crane/crane";
import type { NodeLayout, StepSpec } from "../../core/node/layout";
import type { LogLimits } from "../../core/node/log-files";
import type { PtyTerminal } from "./pty";
import type { Reporter } from "./report";

/** Seconds between SIGTERM and SIGKILL when a stop names none (ccon stop's default). */
export const DEFAULT_STOP_GRACE_SECONDS = 10;

export interface StepOutcome {
  status: JobStatus;
  exitCode: number;
  reason: string;
  /** What the step used on this node (its cgroup's peak memory and CPU time), when measured. */
  usage?: CgroupUsage;
}

export interface RunningStep {
  done: Promise<StepOutcome>;
  /** SIGTERM (CRI StopContainer for a container), then SIGKILL after `graceSeconds`. */
  stop(reason: JobStatus, graceSeconds?: number): void;
  /** Sends a signal to the step's processes and leaves it running (ccancel --signal): "" once sent, else why not. */
  signal(signal: NodeJS.Signals): Promise<string>;
  /** crun --pty: the terminal of task 0, which attach sessions join. */
  terminal?: PtyTerminal;
}

/** What starting (or, after a supervisor restart, resuming) a step is given. */
export interface StepContext {
  spec: StepSpec;
  layout: NodeLayout;
  reporter: Reporter;
  /** The step's CRANE_* environment. */
  env: Record<string, string>;
  log: (message: string) => void;
  /** Cap and rotation of a process step's log (Craned.LogMaxSize, Craned.LogMaxFiles). */
  logLimits: LogLimits;
  /** The node supervisor's one client of the container runtime (connected on first use). */
  cri: () => CriClient;
  /** True when a previous supervisor started the step: pick it up from what is on disk instead of starting it. */
  resume: boolean;
}
