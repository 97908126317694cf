// Progress while a user waits for a job or step to start (crun, ccon run): on a TTY stderr, one line that is
// rewritten as the state changes and erased once the wait is over; without a TTY nothing at all, so scripts and
// pipes see only the program's own output.
//
//   ⠼ job 42: Pending (Resources) 12s
//   ⠦ job 42: Configuring on node1 13s
//   ⠧ job 42: Starting (image busybox:latest) 13s
//   (line erased: Running)
//
// The states come from ctld's WatchCluster stream (no polling): the job is watched by id, changes arrive within
// 50 ms.
//
//   const started = await waitForStart(ctld, jobId, stepId);          // shows progress when stderr is a TTY
//   if (started.endedBeforeStart) throw new CliError(`error: ${started.reason}`, ExitCode.Backend);
import { JobStatus, type JobInfo, type StepInfo } from "../generated/crane/crane";
import { isTerminal } from "../job-state";
import { formatDuration } from "../parse";
import type { CtldConnection } from "./ctld";
import { CliError, ExitCode } from "./errors";
import { ClusterView, openWatch } from "./watch-client";

export interface StartResult {
  job?: JobInfo;
  /** The step, once placed (absent when the job ended before the step existed). */
  step?: StepInfo;
  /** The job ended before the step was ever placed on a node (the step never existed or stayed Pending). */
  endedBeforeStart: boolean;
  /** Why it ended, when it did. */
  reason: string;
}

export interface WaitOptions {
  /** When the wait is over: "running" (default) = the step runs (or ended); "placed" = the step left Pending. */
  until?: "running" | "placed";
  /** Where the progress line goes; default process.stderr. Nothing is written unless it is a TTY. */
  stream?: NodeJS.WriteStream;
  /** false: never show anything (e.g. --quiet). Default true. */
  show?: boolean;
  /** Give up when ctld cannot be reached for this long (default 60 s). */
  disconnectTimeoutMs?: number;
  /** Stop waiting when this signal aborts (e.g. Ctrl-C cancelled the job): resolves with the state seen last. */
  signal?: AbortSignal;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** The words shown for a job's (or its step's) state while waiting. Pure: unit-tested. */
export function progressLabel(job: JobInfo | undefined, stepId: number): string {
  if (!job) return "submitted";
  const step = job.steps.find((s) => s.stepId === stepId);
  if (job.status === JobStatus.Pending) return `Pending (${job.pendingReason || "Priority"})`;
  if (isTerminal(job.status)) return `${JobStatus[job.status]}${job.reason ? ` (${job.reason})` : ""}`;
  // The job runs: what matters now is the step being waited for (or the pod being prepared).
  const s = step && step.status !== JobStatus.Pending ? step : undefined;
  const status = s?.status ?? job.status;
  const on = (s?.nodes ?? job.nodes).join(",");
  switch (status) {
    case JobStatus.Pending:
      return `Pending (waiting for the job's pod)`;
    case JobStatus.Configuring:
      return `Configuring${on ? ` on ${on}` : ""}`;
    case JobStatus.Starting: {
      const image = s?.containerMeta?.image?.image;
      const detail = [image && `image ${image}`, s?.reason].filter(Boolean).join(": ");
      return `Starting${detail ? ` (${detail})` : on ? ` on ${on}` : ""}`;
    }
    default:
      return JobStatus[status] ?? String(status);
  }
}

/** Whether the wait for `stepId` is over, and how. Pure: unit-tested. */
export function startOutcome(job: JobInfo | undefined, stepId: number, until: "running" | "placed"): StartResult | undefined {
  if (!job) return undefined;
  const step = job.steps.find((s) => s.stepId === stepId);
  const placed = !!step && step.status !== JobStatus.Pending;
  if (step && isTerminal(step.status)) return { job, step, endedBeforeStart: false, reason: step.reason };
  if (placed && (step.status === JobStatus.Running || until === "placed")) return { job, step, endedBeforeStart: false, reason: "" };
  if (isTerminal(job.status) || job.status === JobStatus.Completing) {
    return { job, step, endedBeforeStart: !placed, reason: job.reason || `job ${JobStatus[job.status]}` };
  }
  return undefined;
}

/** A line on a TTY that can be rewritten and erased. Writes nothing when the stream is not a TTY. */
export class StatusLine {
  private shown = false;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return !!this.out.isTTY;
  }

  set(text: string): void {
    if (!this.enabled) return;
    const width = Math.max(10, (this.out.columns || 80) - 1);
    const line = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.out.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.out.write("\r\x1b[2K");
    this.shown = false;
  }
}

/**
 * Waits until step `stepId` of job `jobId` runs (or is placed, with until: "placed"), or the job ends first.
 * On a TTY (and unless show is false) a one-line progress display is kept up to date meanwhile and erased before
 * this resolves. Rejects with a CliError (exit 3) when ctld stays unreachable, (exit 4) when the job does not exist.
 */
export function waitForStart(ctld: CtldConnection, jobId: number, stepId: number, opts: WaitOptions = {}): Promise<StartResult> {
  const until = opts.until ?? "running";
  const line = new StatusLine(opts.stream ?? process.stderr);
  const show = opts.show !== false && line.enabled;
  const view = new ClusterView();
  const t0 = Date.now();
  let frame = 0;
  let label = "submitted";
  let note = "";
  const draw = () => {
    const sec = Math.floor((Date.now() - t0) / 1000);
    const elapsed = sec < 60 ? `${sec}s` : formatDuration(sec);
    if (show) line.set(`${SPINNER[frame++ % SPINNER.length]} job ${jobId}${stepId > 1 ? `.${stepId}` : ""}: ${label}${note} ${elapsed}`);
  };
  return new Promise<StartResult>((resolve, reject) => {
    let downSince: number | undefined;
    const ticker = show ? setInterval(draw, 120) : undefined;
    const finish = (err: Error | undefined, res?: StartResult) => {
      if (ticker) clearInterval(ticker);
      watch.close();
      opts.signal?.removeEventListener("abort", onAbort);
      line.clear();
      if (err) reject(err);
      else resolve(res!);
    };
    const onAbort = () => {
      const job = view.jobs.get(jobId);
      finish(undefined, { job, step: job?.steps.find((s) => s.stepId === stepId), endedBeforeStart: true, reason: "interrupted" });
    };
    const watch = openWatch(
      ctld,
      { jobs: true, jobIds: [jobId], intervalMs: 50 },
      {
        onEvent(ev) {
          downSince = undefined;
          note = "";
          view.apply(ev);
          if (!view.synced) return;
          const job = view.jobs.get(jobId);
          if (!job) return finish(new CliError(`job ${jobId} does not exist`, ExitCode.Backend));
          const done = startOutcome(job, stepId, until);
          if (done) return finish(undefined, done);
          const next = progressLabel(job, stepId);
          if (next !== label) {
            label = next;
            draw();
          }
        },
        onDisconnect(reason) {
          downSince ??= Date.now();
          if (Date.now() - downSince > (opts.disconnectTimeoutMs ?? 60_000)) {
            finish(new CliError(`Failed to follow job ${jobId}: ${reason}`, ExitCode.Network));
          } else {
            note = " (ctld unreachable, retrying)";
            draw();
          }
        },
      },
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort);
    draw();
  });
}
