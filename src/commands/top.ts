import { CraneCommand } from "../core/cli/base";
import { runTopView, topFlags, topOptions } from "../core/cli/top-flags";

export default class Top extends CraneCommand {
  static override summary = "Live view of jobs, steps, logs and nodes (one snapshot when not on a terminal)";
  static override description = [
    "A terminal UI over ctld's watch stream: the jobs table updates as jobs change (no polling), Enter opens a",
    "job's steps, Enter on a step follows its output, x cancels (job or step), s stops a container, n shows the",
    "nodes with CPU, memory and GPU allocation. q quits. Without a terminal (or with --once) it prints the jobs",
    "and nodes tables once and exits. `ccon top` is the same view limited to container jobs.",
  ].join("\n");
  static override examples = ["<%= config.bin %> top", "<%= config.bin %> top --mine -t pending", "<%= config.bin %> top --once --nodes"];
  static override flags = topFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Top);
    const options = topOptions(flags, { title: "crane top" });
    await runTopView(this.ctld, options, this.colorFlag);
  }
}
