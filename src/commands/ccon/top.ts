import { CraneCommand } from "../../core/cli/base";
import { runTopView, topFlags, topOptions } from "../../core/cli/top-flags";
import { JobType } from "../../core/generated/crane/crane";

export default class CconTop extends CraneCommand {
  static override summary = "Live view of container jobs: their containers, logs and nodes (crane top for containers)";
  static override description = "Same keys as `crane top` (see `crane top --help`), limited to container jobs.";
  static override flags = topFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(CconTop);
    const options = topOptions(flags, { title: "ccon top", types: [JobType.Container] });
    await runTopView(this.ctld, options, this.colorFlag);
  }
}
