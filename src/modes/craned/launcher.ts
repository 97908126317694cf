// Starts step supervisors. Booting the crane executable costs ~100 ms, so craned keeps one supervisor process
// booted ahead of need ("standby", `crane supervisor --standby`) that waits on its stdin for a step; a step is
// handed to it at once and a new standby is booted behind it. Supervisors are detached either way, so they
// outlive craned; a standby that is still waiting sees its stdin close when craned goes and exits.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import type { Socket } from "node:net";
import { selfCommand } from "../../core/self";
import type { Logger } from "../../core/log";

/** What a standby supervisor reads from its stdin: one JSON line. */
export interface StandbyHandoff {
  spec: string; // the step's spec.json
  log: string; // where the supervisor's own output goes from then on
}

export class SupervisorLauncher {
  private standby: ChildProcess | undefined;
  private closed = false;

  constructor(
    private readonly standbyLog: string,
    private readonly log: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Starts the supervisor of a step: the standby when one is ready, otherwise a fresh process. */
  launch(specFile: string, logFile: string): ChildProcess {
    const ready = this.standby;
    this.standby = undefined;
    let child: ChildProcess;
    if (ready && ready.exitCode === null && ready.signalCode === null && ready.stdin?.writable) {
      const handoff: StandbyHandoff = { spec: specFile, log: logFile };
      ready.stdin.end(`${JSON.stringify(handoff)}\n`);
      child = ready;
    } else {
      const out = fs.openSync(logFile, "a");
      const [cmd, ...args] = selfCommand();
      child = spawn(cmd!, [...args, "supervisor", "--spec", specFile], { detached: true, stdio: ["ignore", out, out], env: this.env });
      fs.closeSync(out);
      child.unref();
    }
    // The next standby boots once this step's own work is under way.
    setTimeout(() => this.prepare(), 20).unref();
    return child;
  }

  /** Boots a standby supervisor unless one is waiting already. */
  prepare(): void {
    if (this.closed || this.standby) return;
    try {
      const out = fs.openSync(this.standbyLog, "a");
      const [cmd, ...args] = selfCommand();
      const child = spawn(cmd!, [...args, "supervisor", "--standby"], { detached: true, stdio: ["pipe", out, out], env: this.env });
      fs.closeSync(out);
      child.unref();
      (child.stdin as Socket | null)?.unref?.();
      child.stdin?.on("error", (e) => this.log.warn(`standby supervisor ${child.pid}: ${e.message}`));
      child.on("exit", () => {
        if (this.standby === child) this.standby = undefined;
      });
      this.standby = child;
    } catch (e) {
      this.log.warn(`cannot boot a standby supervisor (steps start without one): ${(e as Error).message}`);
    }
  }

  /** The waiting standby exits (its stdin closes); no new one is booted. */
  close(): void {
    this.closed = true;
    this.standby?.stdin?.end();
    this.standby = undefined;
  }
}
