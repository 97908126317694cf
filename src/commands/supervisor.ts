import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { runSupervisor } from "../modes/supervisor";

export default class Supervisor extends CraneCommand {
  static override summary = "Run one step on this node (started by craned, not by hand)";
  static override hidden = true;
  static override flags = {
    spec: Flags.string({ required: true, description: "The step's spec.json written by craned" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Supervisor);
    const code = await runSupervisor(flags.spec);
    process.exit(code);
  }
}
