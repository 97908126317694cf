// craned's handle on its node's supervisor: one long-lived `crane supervisor` process (see modes/supervisor) that
// hosts every step of the node. craned starts it when none is running, recognises it by pid and start time (never a
// stranger that got its pid), and asks it to start and stop steps over its root-only unix socket. The supervisor is
// detached, so it outlives craned; a new craned finds it through the pid file and keeps using it.
import * as grpc from "@grpc/grpc-js";
import { spawn } from "node:child_process";
import fs from "node:fs";
import { type TerminateStepReply, type TerminateStepRequest } from "../../core/generated/crane/crane";
import { SupervisorClient } from "../../core/generated/crane/services";
import type { Logger } from "../../core/log";
import type { NodeLayout } from "../../core/node/layout";
import { isAlive, readIdentityFile, type ProcessIdentity } from "../../core/node/process-identity";
import { CHANNEL_OPTIONS, unary } from "../../core/rpc";
import { selfCommand } from "../../core/self";

const START_TIMEOUT_MS = 15_000;
const CALL_TIMEOUT_MS = 10_000;

export class NodeSupervisor {
  private client: SupervisorClient | undefined;
  private starting: Promise<void> | undefined;
  private known: ProcessIdentity | undefined;

  constructor(
    private readonly layout: NodeLayout,
    private readonly args: { node: string; configFile: string },
    private readonly log: Logger,
  ) {}

  /** True while the supervisor process craned last saw (or the one in the pid file) is alive. */
  isRunning(): boolean {
    return isAlive(this.known) || isAlive((this.known = readIdentityFile(this.layout.supervisorPidFile)));
  }

  /** Starts the supervisor unless it runs, and waits until it serves. Concurrent callers share one start. */
  ensureRunning(): Promise<void> {
    if (this.isRunning() && this.client) return Promise.resolve();
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  async startStep(jobId: number, stepId: number): Promise<{ ok: boolean; reason: string }> {
    return this.call((c) => unary(c, c.startStep, { jobId, stepId }, CALL_TIMEOUT_MS));
  }

  async stopStep(req: TerminateStepRequest): Promise<TerminateStepReply> {
    return this.call((c) => unary(c, c.stopStep, req, CALL_TIMEOUT_MS));
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  /** A call, once more after restarting a supervisor that turned out to be gone. */
  private async call<T>(fn: (c: SupervisorClient) => Promise<T>): Promise<T> {
    await this.ensureRunning();
    try {
      return await fn(this.client!);
    } catch (e) {
      if ((e as grpc.ServiceError).code !== grpc.status.UNAVAILABLE || this.isRunning()) throw e;
      await this.ensureRunning();
      return fn(this.client!);
    }
  }

  private async start(): Promise<void> {
    if (!this.isRunning()) {
      const out = fs.openSync(this.layout.supervisorLog, "a", 0o600);
      const [cmd, ...self] = selfCommand();
      const args = [...self, "supervisor", "--node", this.args.node, "--state-dir", this.layout.stateDir, "--runtime-dir", this.layout.runtimeDir];
      if (this.args.configFile) args.push("-C", this.args.configFile);
      const child = spawn(cmd!, args, { detached: true, stdio: ["ignore", out, out] });
      fs.closeSync(out);
      child.unref();
      child.on("error", (e) => this.log.error(`cannot start the node's supervisor: ${e.message}`));
      this.log.info(`started the node's supervisor (pid ${child.pid})`);
      const deadline = performance.now() + START_TIMEOUT_MS;
      while (!this.isRunning() || this.known?.pid !== child.pid) {
        if (child.exitCode !== null || performance.now() > deadline) {
          // Another one may have won the race for the pid file: then that one serves.
          if (this.isRunning()) break;
          throw new Error(`the node's supervisor did not start (see ${this.layout.supervisorLog})`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    this.client?.close();
    const client = new SupervisorClient(`unix://${this.layout.supervisorSocket}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + START_TIMEOUT_MS, (e) => (e ? reject(new Error(`the node's supervisor does not answer: ${e.message}`)) : resolve())),
    );
    this.client = client;
  }
}
