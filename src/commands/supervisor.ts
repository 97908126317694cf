import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { runSupervisor } from "../modes/supervisor";
import { awaitHandoff, connectRuntimeAhead, redirectOutput } from "../modes/supervisor/standby";

export default class Supervisor extends CraneCommand {
  static override summary = "Run one step on this node (started by craned, not by hand)";
  static override hidden = true;
  static override flags = {
    spec: Flags.string({ description: "The step's spec.json written by craned", exclusive: ["standby"] }),
    standby: Flags.boolean({ description: "Boot now, then read the step ({spec, log} as one JSON line) from stdin" }),
    "runtime-endpoint": Flags.string({ description: "With --standby: connect to this CRI endpoint while waiting" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Supervisor);
    let spec = flags.spec;
    if (flags.standby) {
      if (flags["runtime-endpoint"]) connectRuntimeAhead(flags["runtime-endpoint"]);
      const handoff = await awaitHandoff();
      if (!handoff) process.exit(0); // craned went away before it needed us
      redirectOutput(handoff.log);
      spec = handoff.spec;
    }
    if (!spec) this.error("give --spec FILE (or --standby)", { exit: 2 });
    const code = await runSupervisor(spec);
    process.exit(code);
  }
}
