// A hosted step's only channel out: status reports to craned, retried until craned accepts them
// (craned accepts only once ctld has them, so a report survives a craned or ctld restart).
// The terminal report is also saved to result.json first, so that the next supervisor replays it if this one dies.
// Once the supervisor is told to stop (SIGTERM), a report that is not accepted at the first try is left to that
// file: a craned that never returns must not keep the supervisor alive forever.
import fs from "node:fs";
import { JobStatus, type StepStatusChangeRequest } from "../../core/generated/crane/crane";
import { type CranedClient } from "../../core/generated/crane/services";
import { isTerminal } from "../../core/job-state";
import { readJson } from "../../core/node/layout";
import { unary } from "../../core/rpc";

export class Reporter {
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(
    /** The node supervisor's one client of craned's socket. */
    private readonly client: CranedClient,
    private readonly resultFile: string,
    private readonly base: { node: string; jobId: number; stepId: number },
  ) {}

  /** Delivers the terminal report an earlier supervisor saved; false when there is none. */
  replaySaved(): Promise<void> | false {
    const saved = readJson<StepStatusChangeRequest>(this.resultFile);
    if (!saved) return false;
    this.chain = this.chain.then(() => this.deliver(saved));
    return this.chain;
  }

  /** Reports in order; the returned promise settles once this report was accepted. */
  report(
    status: JobStatus,
    extra: { exitCode?: number; reason?: string; containerId?: string; maxRssBytes?: number; cpuTimeUsec?: number } = {},
  ): Promise<void> {
    const msg: StepStatusChangeRequest = {
      ...this.base,
      status,
      exitCode: extra.exitCode ?? 0,
      reason: extra.reason ?? "",
      containerId: extra.containerId ?? "",
      timestamp: Date.now(),
      maxRssBytes: extra.maxRssBytes ?? 0,
      cpuTimeUsec: extra.cpuTimeUsec ?? 0,
    };
    if (isTerminal(status)) fs.writeFileSync(this.resultFile, JSON.stringify(msg), { mode: 0o600 });
    this.chain = this.chain.then(() => this.deliver(msg));
    return this.chain;
  }

  /**
   * The supervisor is stopping: stop retrying. The outcome is not lost, since the terminal report is in
   * result.json before it is sent, and craned (also a restarted one) replays it from there once we are gone;
   * an intermediate report (Running) is superseded by the terminal one.
   */
  stopRetrying(): void {
    this.stopping = true;
    this.wake?.();
  }

  private async deliver(msg: StepStatusChangeRequest): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await unary(this.client, this.client.stepStatusChange, msg, this.stopping ? 2_000 : 10_000);
        if (reply.ok) return;
      } catch {
        // craned is restarting or ctld is away: keep trying, the step's outcome must not be lost
      }
      if (this.stopping) return;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(200 * 2 ** attempt, 3000));
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = undefined;
    }
  }
}
