import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { findContainerStep, resolveContainerArg } from "../../core/cli/containers";
import { CliError, ExitCode } from "../../core/cli/errors";
import { stepJson, type StepJson } from "../../core/cli/json";

export default class CconInspect extends CraneCommand {
  static override summary = "Show everything about one container step as JSON (status, reason, exit code, image, nodes)";
  static override args = { container: Args.string({ description: "JOBID.STEPID or the name given with 'ccon run --name'", required: true }) };
  static override enableJsonFlag = true;

  async run(): Promise<StepJson> {
    const { args } = await this.parse(CconInspect);
    const { jobId, stepId } = await resolveContainerArg(this.ctld, args.container, {
      running: false,
      step0Message: "step 0 is reserved for pods. Please use inspectp to query it.",
    });
    const found = await findContainerStep(this.ctld, jobId, stepId);
    if (!found) throw new CliError(`container step ${jobId}.${stepId} not found`, ExitCode.Backend);
    const json = stepJson(found.step);
    // Without --json as well: indented, for reading.
    this.log(JSON.stringify(json, null, 2));
    return json;
  }
}
