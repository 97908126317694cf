import { CancelJobRequest } from "../../core/generated/crane/crane";
import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { findContainerStep, isActive, resolveContainerArg } from "../../core/cli/containers";
import { CliError, ExitCode } from "../../core/cli/errors";
import type { CconJson } from "../../core/cli/json";

/** `ccon stop --json`. */
export interface StopJson {
  container: string;
  stopped: boolean;
  reason: string;
  grace_seconds: number;
}

export default class CconStop extends CraneCommand {
  static override summary = "Stop a container step (SIGTERM, then SIGKILL after the grace period)";
  static override args = { container: Args.string({ description: "JOBID.STEPID or the name given with 'ccon run --name'", required: true }) };
  static override enableJsonFlag = true;
  static override flags = {
    timeout: Flags.integer({ char: "t", description: "Seconds between SIGTERM and SIGKILL", default: 10, min: 0 }),
  };

  async run(): Promise<CconJson<StopJson>> {
    const { args, flags } = await this.parse(CconStop);
    const { jobId, stepId } = await resolveContainerArg(this.ctld, args.container, {
      running: true,
      step0Message: "step 0 is reserved for pods, please specify a container step ID",
      exitCode: ExitCode.CmdArg,
    });
    const found = await findContainerStep(this.ctld, jobId, stepId, false, false);
    if (!found || !isActive(found.step.status)) throw new CliError(`Step ${jobId}.${stepId} not found or is not a running container`);
    const r = await this.ctld.call(
      "cancelJob",
      CancelJobRequest.fromPartial({ jobIds: [{ jobId, stepIds: [stepId] }], graceSeconds: flags.timeout }),
      "Failed to stop the container",
    );
    const stopped = r.cancelled.length > 0;
    const reason = r.notCancelled[0]?.reason ?? "";
    if (stopped) this.log(`Container ${jobId}.${stepId} stopped successfully`);
    else if (r.notCancelled.length) {
      this.failAfterOutput(new CliError(this.jsonEnabled() ? "" : `Failed to stop container ${jobId}.${stepId}: ${reason}`, ExitCode.Backend));
    }
    return { action: "stop", data: { container: `${jobId}.${stepId}`, stopped, reason, grace_seconds: flags.timeout } };
  }
}
