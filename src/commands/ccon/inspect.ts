import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { findContainerStep, parseContainerArg } from "../../core/cli/containers";
import { connectCtld } from "../../core/cli/ctld";
import { CliError, ExitCode } from "../../core/cli/errors";
import { StepInfo } from "../../core/generated/crane/crane";

export default class CconInspect extends CraneCommand {
  static override summary = "Show everything about one container step as JSON (status, reason, exit code, image, nodes)";
  static override args = { container: Args.string({ description: "JOBID.STEPID", required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CconInspect);
    const { jobId, stepId } = parseContainerArg(args.container, "step 0 is reserved for pods. Please use inspectp to query it.");
    const ctld = connectCtld(flags.config);
    try {
      const found = await findContainerStep(ctld, jobId, stepId);
      if (!found) throw new CliError(`container step ${jobId}.${stepId} not found`, ExitCode.Backend);
      this.log(JSON.stringify(StepInfo.toJSON(found.step), null, 2));
    } finally {
      ctld.close();
    }
  }
}
