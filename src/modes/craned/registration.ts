// craned's standing with ctld: it registers (telling ctld every step it holds, so ctld frees what ended while it
// did not know the node), then pings; a ping answered "re-register" (ctld restarted, or declared the node down)
// registers again at once.
import type { CraneConfig, NodeConfig } from "../../core/config";
import type { CraneCtldForInternalClient } from "../../core/generated/crane/services";
import type { Logger } from "../../core/log";
import { unary } from "../../core/rpc";
import type { StepTable } from "./step-table";

export class Registration {
  registered = false;

  constructor(
    private readonly ctld: CraneCtldForInternalClient,
    private readonly node: NodeConfig,
    private readonly config: CraneConfig,
    /** host:port of this craned (informative: ctld dials the address its config gives for the node). */
    private readonly address: string,
    private readonly steps: StepTable,
    /** Stops a step that ctld no longer knows. */
    private readonly stopOrphan: (jobId: number, stepId: number) => void,
    private readonly log: Logger,
  ) {}

  async register(): Promise<void> {
    const reply = await unary(
      this.ctld,
      this.ctld.cranedRegister,
      {
        node: this.node.name,
        address: this.address,
        resources: { cpu: this.node.cpu, memoryBytes: this.node.memoryBytes, gres: {} },
        steps: this.steps.all().map((s) => ({ jobId: s.jobId, stepId: s.stepId, status: s.status })),
        version: "1",
        containerEnabled: this.config.container.enabled,
      },
      5000,
    );
    if (!reply.ok) throw new Error(reply.reason);
    for (const o of reply.orphanSteps) this.stopOrphan(o.jobId, o.stepId);
    this.registered = true;
    this.log.info(`registered with ctld as ${this.node.name} at ${this.address}`);
  }

  async heartbeat(): Promise<void> {
    try {
      if (!this.registered) {
        await this.register();
        return;
      }
      const reply = await unary(this.ctld, this.ctld.cranedPing, { node: this.node.name }, 5000);
      if (reply.reregister) {
        this.registered = false;
        await this.register();
      }
    } catch (e) {
      if (this.registered) this.log.warn(`ctld unreachable: ${(e as Error).message}`);
      this.registered = false;
    }
  }
}
