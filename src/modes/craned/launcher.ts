// Starts step supervisors. Booting the crane executable costs ~100 ms, so craned keeps supervisor processes
// booted ahead of need ("standbys", `crane supervisor --standby`) that wait on their stdin for a step; a step is
// handed to one at once and a new standby is booted behind it. Two are kept, since a new container job brings
// two steps at once (its pod and its first container). A standby also connects to the container runtime while it
// waits, so the step's first CRI call finds the connection made. Supervisors are detached either way, so they
// outlive craned; a standby that is still waiting sees its stdin close when craned goes, and exits.
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

const STANDBYS = 2;

export class SupervisorLauncher {
  private standbys: ChildProcess[] = [];
  private closed = false;

  constructor(
    private readonly standbyLog: string,
    private readonly log: Logger,
    /** The CRI endpoint standbys connect to ahead of need (containers enabled), or undefined. */
    private readonly runtimeEndpoint?: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Starts the supervisor of a step: the standby when one is ready, otherwise a fresh process. */
  launch(specFile: string, logFile: string): ChildProcess {
    this.standbys = this.standbys.filter((c) => c.exitCode === null && c.signalCode === null && !!c.stdin?.writable);
    const ready = this.standbys.shift();
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
      // Never started (e.g. the executable was removed): its step is reported failed, as one whose supervisor died.
      child.on("error", (e) => this.log.error(`cannot start the supervisor for ${specFile}: ${e.message}`));
    }
    // The next standby boots once this step's own work is under way.
    setTimeout(() => this.prepare(), 20).unref();
    return child;
  }

  /** Boots standby supervisors until enough are waiting. */
  prepare(): void {
    while (!this.closed && this.standbys.length < STANDBYS) if (!this.boot()) return;
  }

  private boot(): boolean {
    try {
      const out = fs.openSync(this.standbyLog, "a");
      const [cmd, ...args] = selfCommand();
      const extra = this.runtimeEndpoint ? ["--runtime-endpoint", this.runtimeEndpoint] : [];
      const child = spawn(cmd!, [...args, "supervisor", "--standby", ...extra], { detached: true, stdio: ["pipe", out, out], env: this.env });
      fs.closeSync(out);
      child.unref();
      (child.stdin as Socket | null)?.unref?.();
      child.stdin?.on("error", (e) => this.log.warn(`standby supervisor ${child.pid}: ${e.message}`));
      child.on("error", (e) => this.log.warn(`cannot boot a standby supervisor: ${e.message}`));
      child.on("exit", () => {
        this.standbys = this.standbys.filter((c) => c !== child);
      });
      this.standbys.push(child);
      return true;
    } catch (e) {
      this.log.warn(`cannot boot a standby supervisor (steps start without one): ${(e as Error).message}`);
      return false;
    }
  }

  /** The waiting standbys exit (their stdin closes); no new one is booted. */
  close(): void {
    this.closed = true;
    for (const c of this.standbys) c.stdin?.end();
    this.standbys = [];
  }
}
