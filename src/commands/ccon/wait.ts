import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { isActive, queryContainerJobs } from "../../core/cli/containers";
import { CliError, ExitCode } from "../../core/cli/errors";
import { statusName, type CconJson } from "../../core/cli/json";
import { jobIdFromEnv } from "../../core/cli/step-client";

/** `ccon wait --json`: how each container step of the job ended. */
export interface WaitJson {
  job_id: number;
  steps: { step_id: number; status: string; exit_code: number }[];
}

export default class CconWait extends CraneCommand {
  static override summary = "Inside a job, wait until all of its container steps have finished";
  static override args = { extra: Args.string({ hidden: true }) };
  static override enableJsonFlag = true;
  static override flags = {
    interval: Flags.integer({ char: "t", description: "Seconds between checks", default: 2, min: 1 }),
  };

  async run(): Promise<CconJson<WaitJson>> {
    const { flags, args } = await this.parse(CconWait);
    if (args.extra) throw new CliError("wait command does not accept any arguments");
    const jobId = jobIdFromEnv("ccon wait");
    if (!jobId) throw new CliError("wait can only be used inside a job step (CRANE_JOB_ID is not set)");
    for (;;) {
      const job = (await queryContainerJobs(this.ctld, { all: true, jobIds: [jobId], mineOnly: false })).find((j) => j.jobId === jobId);
      if (!job) throw new CliError(`container job ${jobId} not found`, ExitCode.Backend);
      const steps = job.steps.filter((s) => s.stepId !== 0 && s.containerMeta);
      if (steps.every((s) => !isActive(s.status))) {
        this.log(`All container steps in job ${jobId} have finished.`);
        const data = { job_id: jobId, steps: steps.map((s) => ({ step_id: s.stepId, status: statusName(s.status), exit_code: s.exitCode })) };
        return { action: "wait", data };
      }
      await new Promise((r) => setTimeout(r, flags.interval * 1000));
    }
  }
}
