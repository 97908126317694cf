import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { queryContainerJobs } from "../../core/cli/containers";
import { connectCtld } from "../../core/cli/ctld";
import { CliError } from "../../core/cli/errors";
import { renderTable } from "../../core/cli/table";
import { JobInfo, JobStatus } from "../../core/generated/crane/crane";
import { formatAgo } from "../../core/parse";

export default class CconPods extends CraneCommand {
  static override summary = "List container jobs (their pods)";
  static override args = { extra: Args.string({ hidden: true }) };
  static override flags = {
    all: Flags.boolean({ char: "a", description: "Include finished jobs" }),
    quiet: Flags.boolean({ char: "q", description: "Only print job ids" }),
    json: Flags.boolean({ description: "JSON output" }),
  };

  async run(): Promise<void> {
    const { flags, args } = await this.parse(CconPods);
    if (args.extra) throw new CliError("pod command does not accept any arguments");
    const ctld = connectCtld(flags.config);
    try {
      const jobs = (await queryContainerJobs(ctld, { all: flags.all })).sort((a, b) => b.jobId - a.jobId);
      if (flags.json) return this.log(JSON.stringify({ action: "pods", data: jobs.map((j) => JobInfo.toJSON(j)) }));
      if (flags.quiet) return jobs.forEach((j) => this.log(String(j.jobId)));
      const now = Date.now();
      const rows = jobs.map((j) => [
        String(j.jobId),
        j.podMeta?.name || "-",
        j.partition,
        formatAgo(j.submitTime, now),
        (JobStatus[j.status] ?? "").toUpperCase(),
        j.podMeta?.ports.map((p) => `${p.hostPort}:${p.containerPort}`).join(", ") || "-",
        j.nodes.join(",") || j.pendingReason || "-",
      ]);
      this.log(renderTable(["JOBID", "POD", "PARTITION", "CREATED", "STATUS", "PORTS", "NODELIST/REASON"], rows).trimEnd());
    } finally {
      ctld.close();
    }
  }
}
