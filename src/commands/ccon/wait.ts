import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { isActive, queryContainerJobs } from "../../core/cli/containers";
import { connectCtld } from "../../core/cli/ctld";
import { CliError, ExitCode } from "../../core/cli/errors";
import { jobIdFromEnv } from "../../core/cli/step-client";

export default class CconWait extends CraneCommand {
  static override summary = "Inside a job, wait until all of its container steps have finished";
  static override args = { extra: Args.string({ hidden: true }) };
  static override flags = {
    interval: Flags.integer({ char: "t", description: "Seconds between checks", default: 2, min: 1 }),
    json: Flags.boolean({ description: "JSON output" }),
  };

  async run(): Promise<void> {
    const { flags, args } = await this.parse(CconWait);
    if (args.extra) throw new CliError("wait command does not accept any arguments");
    const jobId = jobIdFromEnv("ccon wait");
    if (!jobId) throw new CliError("wait can only be used inside a job step (CRANE_JOB_ID is not set)");
    const ctld = connectCtld(flags.config);
    try {
      for (;;) {
        const job = (await queryContainerJobs(ctld, { all: true, jobIds: [jobId], mineOnly: false })).find((j) => j.jobId === jobId);
        if (!job) throw new CliError(`container job ${jobId} not found`, ExitCode.Backend);
        const steps = job.steps.filter((s) => s.stepId !== 0 && s.containerMeta);
        if (steps.every((s) => !isActive(s.status))) {
          if (flags.json)
            this.log(
              JSON.stringify({
                action: "wait",
                flags: { Interval: flags.interval },
                data: { job_id: jobId, steps: steps.map((s) => ({ step_id: s.stepId, status: s.status })) },
              }),
            );
          else this.log(`All container steps in job ${jobId} have finished.`);
          return;
        }
        await new Promise((r) => setTimeout(r, flags.interval * 1000));
      }
    } finally {
      ctld.close();
    }
  }
}
