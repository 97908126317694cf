import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { findContainerStep, resolveContainerArg, resolveTargetNode } from "../../core/cli/containers";
import { CliError, ExitCode } from "../../core/cli/errors";
import { followStep } from "../../core/cli/step-client";
import { ParseError, parseRelativeOrAbsoluteTime } from "../../core/parse";

export default class CconLogs extends CraneCommand {
  static override summary = "Print a container's output (served by the node that ran it; no shared file system needed)";
  static override args = { container: Args.string({ description: "JOBID.STEPID or the name given with 'ccon run --name'", required: true }) };
  static override flags = {
    follow: Flags.boolean({ char: "f", description: "Keep printing new output until the container ends", default: false }),
    tail: Flags.integer({ description: "Only the last N lines", default: -1 }),
    timestamps: Flags.boolean({ char: "t", description: "Show the time of each line" }),
    since: Flags.string({ description: "Lines since a time (RFC 3339) or a duration ago (30s, 5m, 2h, 1d)" }),
    until: Flags.string({ description: "Lines until a time or a duration ago" }),
    "target-node": Flags.string({ char: "n", description: "Node of a multi-node container" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CconLogs);
    const when = (s: string | undefined, name: string) => {
      if (!s) return 0;
      try {
        return parseRelativeOrAbsoluteTime(s, new Date()).getTime();
      } catch (e) {
        if (e instanceof ParseError) throw new CliError(`invalid --${name} format: ${e.message}`);
        throw e;
      }
    };
    const sinceMs = when(flags.since, "since");
    const untilMs = when(flags.until, "until");
    const ctld = this.ctld;
    const { jobId, stepId } = await resolveContainerArg(ctld, args.container, {
      running: false,
      step0Message: "step 0 is reserved for pods, please specify a valid container step ID",
    });
    const found = await findContainerStep(ctld, jobId, stepId, true, false);
    if (!found) throw new CliError(`container ${jobId}.${stepId} not found`, ExitCode.Backend);
    if (!found.step.containerMeta) throw new CliError(`step ${jobId}.${stepId} is not a container`, ExitCode.Backend);
    const node = resolveTargetNode(found.step, flags["target-node"]);
    await followStep(ctld, { jobId, stepId, node, tail: flags.tail, follow: flags.follow, timestamps: flags.timestamps, sinceMs, untilMs });
  }
}
