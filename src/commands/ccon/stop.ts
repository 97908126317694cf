import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { findContainerStep, isActive, parseContainerArg } from "../../core/cli/containers";
import { connectCtld } from "../../core/cli/ctld";
import { CliError, ExitCode } from "../../core/cli/errors";

export default class CconStop extends CraneCommand {
  static override summary = "Stop a container step (SIGTERM, then SIGKILL after the grace period)";
  static override args = { container: Args.string({ description: "JOBID.STEPID", required: true }) };
  static override flags = {
    timeout: Flags.integer({ char: "t", description: "Seconds between SIGTERM and SIGKILL", default: 10, min: 0 }),
    json: Flags.boolean({ description: "JSON output" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CconStop);
    const { jobId, stepId } = parseContainerArg(args.container, "step 0 is reserved for pods, please specify a container step ID", ExitCode.CmdArg);
    const ctld = connectCtld(flags.config);
    try {
      const found = await findContainerStep(ctld, jobId, stepId, false, false);
      if (!found || !isActive(found.step.status)) throw new CliError(`Step ${jobId}.${stepId} not found or is not a running container`);
      const r = await ctld.call(
        ctld.client.cancelJob,
        {
          jobIds: [{ jobId, stepIds: [stepId] }],
          partition: "",
          name: "",
          user: "",
          account: "",
          nodes: [],
          graceSeconds: flags.timeout,
        },
        "Failed to stop the container",
      );
      const ok = r.cancelled.length > 0;
      if (flags.json) this.log(JSON.stringify({ action: "stop", flags: { Timeout: flags.timeout }, data: r }));
      else if (ok) this.log(`Container ${jobId}.${stepId} stopped successfully`);
      if (!ok && r.notCancelled.length) {
        throw new CliError(flags.json ? "" : `Failed to stop container ${jobId}.${stepId}: ${r.notCancelled[0]!.reason}`, ExitCode.Backend);
      }
    } finally {
      ctld.close();
    }
  }
}
