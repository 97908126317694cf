import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { loadCliConfig } from "../core/cli/ctld";
import { runNodeSupervisor } from "../modes/supervisor";

export default class Supervisor extends CraneCommand {
  static override summary = "Host the steps of one node (started by craned, not by hand)";
  static override hidden = true;
  static override flags = {
    node: Flags.string({ description: "The node's name in the config", required: true }),
    "state-dir": Flags.string({ description: "The node's state directory (craned's)", required: true }),
    "runtime-dir": Flags.string({ description: "The node's runtime directory (craned's)", required: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Supervisor);
    const code = await runNodeSupervisor(loadCliConfig(flags.config), flags.node, flags["state-dir"], flags["runtime-dir"]);
    process.exit(code);
  }
}
