import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { queryContainerJobs } from "../../core/cli/containers";
import { connectCtld } from "../../core/cli/ctld";
import { CliError } from "../../core/cli/errors";
import { renderTable } from "../../core/cli/table";
import { JobStatus } from "../../core/generated/crane/crane";
import { formatAgo } from "../../core/parse";

export function shortCommand(words: string[]): string {
  const s = words.join(" ").replace(/\s+/g, " ").trim();
  if (!s) return "-";
  return s.length > 20 ? `${s.slice(0, 17)}...` : s;
}

export default class CconPs extends CraneCommand {
  static override summary = "List container steps (running jobs' by default, -a for all)";
  static override args = { extra: Args.string({ hidden: true }) };
  static override flags = {
    all: Flags.boolean({ char: "a", description: "Include finished containers" }),
    quiet: Flags.boolean({ char: "q", description: "Only print container ids (JOBID.STEPID)" }),
    json: Flags.boolean({ description: "JSON output" }),
  };

  async run(): Promise<void> {
    const { flags, args } = await this.parse(CconPs);
    if (args.extra) throw new CliError("ps command does not accept any arguments");
    const ctld = connectCtld(flags.config);
    try {
      const jobs = await queryContainerJobs(ctld, { all: flags.all });
      const now = Date.now();
      const rows = jobs
        .flatMap((j) => j.steps.filter((s) => s.stepId !== 0 && s.containerMeta).map((s) => ({ j, s })))
        .sort((a, b) => b.j.jobId - a.j.jobId || b.s.stepId - a.s.stepId);
      if (flags.json) {
        this.log(
          JSON.stringify({
            action: "ps",
            data: rows.map(({ j, s }) => ({
              container: `${j.jobId}.${s.stepId}`,
              image: s.containerMeta?.image?.image,
              command: [...(s.containerMeta?.command ?? []), ...(s.containerMeta?.args ?? [])],
              created: new Date(s.submitTime || j.submitTime).toISOString(),
              status: JobStatus[s.status],
              exit_code: s.exitCode,
              reason: s.reason,
              nodes: s.nodes,
            })),
          }),
        );
        return;
      }
      if (flags.quiet) {
        for (const { j, s } of rows) this.log(`${j.jobId}.${s.stepId}`);
        return;
      }
      const table = rows.map(({ j, s }) => [
        `${j.jobId}.${s.stepId}`,
        s.containerMeta?.image?.image ?? "",
        shortCommand([...(s.containerMeta?.command ?? []), ...(s.containerMeta?.args ?? [])]),
        formatAgo(s.submitTime || j.submitTime, now),
        (JobStatus[s.status] ?? "").toUpperCase() + (s.exitCode && !isRunning(s.status) ? ` (${s.exitCode})` : ""),
        (s.nodes.length ? s.nodes : j.nodes).join(","),
        s.reason || "-",
      ]);
      this.log(renderTable(["CONTAINER", "IMAGE", "COMMAND", "CREATED", "STATUS", "NODELIST", "REASON"], table, { trimAt: 60 }).trimEnd());
    } finally {
      ctld.close();
    }
  }
}

function isRunning(s: JobStatus): boolean {
  return s === JobStatus.Running;
}
