import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { queryContainerJobs } from "../../core/cli/containers";
import { CliError } from "../../core/cli/errors";
import { jobJson, statusName, type CconJson, type JobJson } from "../../core/cli/json";
import { renderTable } from "../../core/cli/table";
import { formatAgo } from "../../core/parse";

export default class CconPods extends CraneCommand {
  static override summary = "List container jobs (their pods)";
  static override args = { extra: Args.string({ hidden: true }) };
  static override enableJsonFlag = true;
  static override flags = {
    all: Flags.boolean({ char: "a", description: "Include finished jobs" }),
    quiet: Flags.boolean({ char: "q", description: "Only print job ids" }),
  };

  async run(): Promise<CconJson<JobJson[]>> {
    const { flags, args } = await this.parse(CconPods);
    if (args.extra) throw new CliError("pod command does not accept any arguments");
    const jobs = (await queryContainerJobs(this.ctld, { all: flags.all })).sort((a, b) => b.jobId - a.jobId);
    if (flags.quiet) {
      for (const j of jobs) this.log(String(j.jobId));
    } else {
      const now = Date.now();
      const rows = jobs.map((j) => [
        String(j.jobId),
        j.podMeta?.name || "-",
        j.partition,
        formatAgo(j.submitTime, now),
        statusName(j.status).toUpperCase(),
        j.podMeta?.ports.map((p) => `${p.hostPort}:${p.containerPort}`).join(", ") || "-",
        j.nodes.join(",") || j.pendingReason || "-",
      ]);
      this.log(renderTable(["JOBID", "POD", "PARTITION", "CREATED", "STATUS", "PORTS", "NODELIST/REASON"], rows).trimEnd());
    }
    return { action: "pods", data: jobs.map(jobJson) };
  }
}
