import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { queryContainerJobs } from "../../core/cli/containers";
import { CliError, ExitCode } from "../../core/cli/errors";
import { jobJson, type JobJson } from "../../core/cli/json";

export default class CconInspectp extends CraneCommand {
  static override summary = "Show everything about one container job (its pod) as JSON";
  static override args = { pod: Args.string({ description: "JOBID", required: true }) };
  static override enableJsonFlag = true;

  async run(): Promise<JobJson> {
    const { args } = await this.parse(CconInspectp);
    const jobId = Number(args.pod);
    if (!Number.isInteger(jobId) || jobId <= 0) throw new CliError(`invalid job ID: ${args.pod}`);
    const job = (await queryContainerJobs(this.ctld, { all: true, jobIds: [jobId] })).find((j) => j.jobId === jobId);
    if (!job) throw new CliError(`container pod ${jobId} not found`, ExitCode.Backend);
    const json = jobJson(job);
    this.log(JSON.stringify(json, null, 2));
    return json;
  }
}
