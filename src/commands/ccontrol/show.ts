import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { showCluster, showJobs, type ShowJson } from "../../core/cli/control";
import { CliError } from "../../core/cli/errors";

const KINDS = ["job", "node", "partition"];

export default class CcontrolShow extends CraneCommand {
  static override summary = "Show a job, node or partition in detail (all of them without a name)";
  static override args = {
    kind: Args.string({ description: "job | node | partition", required: true }),
    name: Args.string({ description: "The job id, node name or partition name" }),
  };
  static override enableJsonFlag = true;

  async run(): Promise<ShowJson> {
    const { args } = await this.parse(CcontrolShow);
    const kind = args.kind.toLowerCase().replace(/s$/, "");
    if (!KINDS.includes(kind)) throw new CliError(`cannot show "${args.kind}" (known: ${KINDS.join(", ")})`);
    const shown = kind === "job" ? await showJobs(this.ctld, args.name) : await showCluster(this.ctld, kind as "node" | "partition", args.name);
    this.log(shown.text);
    return shown.json;
  }
}
