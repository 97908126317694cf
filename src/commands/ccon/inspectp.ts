import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { queryContainerJobs } from "../../core/cli/containers";
import { connectCtld } from "../../core/cli/ctld";
import { CliError, ExitCode } from "../../core/cli/errors";
import { JobInfo } from "../../core/generated/crane/crane";

export default class CconInspectp extends CraneCommand {
  static override summary = "Show everything about one container job (its pod) as JSON";
  static override args = { pod: Args.string({ description: "JOBID", required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CconInspectp);
    const jobId = Number(args.pod);
    if (!Number.isInteger(jobId) || jobId <= 0) throw new CliError(`invalid job ID: ${args.pod}`);
    const ctld = connectCtld(flags.config);
    try {
      const job = (await queryContainerJobs(ctld, { all: true, jobIds: [jobId] })).find((j) => j.jobId === jobId);
      if (!job) throw new CliError(`container pod ${jobId} not found`, ExitCode.Backend);
      this.log(JSON.stringify(JobInfo.toJSON(job), null, 2));
    } finally {
      ctld.close();
    }
  }
}
