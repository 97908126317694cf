import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { containerList, queryContainerJobs, renderContainerList, type ContainerListJson } from "../../core/cli/containers";
import { CliError } from "../../core/cli/errors";
import type { CconJson } from "../../core/cli/json";

export default class CconPs extends CraneCommand {
  static override summary = "List container steps (running jobs' by default, -a for all)";
  static override args = { extra: Args.string({ hidden: true }) };
  static override enableJsonFlag = true;
  static override flags = {
    all: Flags.boolean({ char: "a", description: "Include finished containers" }),
    quiet: Flags.boolean({ char: "q", description: "Only print container ids (JOBID.STEPID)" }),
  };

  async run(): Promise<CconJson<ContainerListJson[]>> {
    const { flags, args } = await this.parse(CconPs);
    if (args.extra) throw new CliError("ps command does not accept any arguments");
    const rows = containerList(await queryContainerJobs(this.ctld, { all: flags.all }));
    if (flags.quiet) for (const r of rows) this.log(r.container);
    else this.log(renderContainerList(rows, Date.now()));
    return { action: "ps", data: rows };
  }
}
