import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { loadCliConfig } from "../core/cli/ctld";
import { waitForShutdown, warnUnknownConfigKeys } from "../core/cli/daemon";
import { createLogger } from "../core/log";
import { runCtld } from "../modes/ctld";

export default class Ctld extends CraneCommand {
  static override summary = "Run the control daemon (scheduler and cluster state)";
  static override flags = {
    "state-dir": Flags.string({ description: "Directory of the job database (default: <CraneBaseDir>/ctld)" }),
    port: Flags.integer({ description: "Port for user commands (default: CraneCtldListenPort)" }),
    "internal-port": Flags.integer({ description: "Port for node daemons (default: CraneCtldForInternalListenPort)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ctld);
    const config = loadCliConfig(flags.config);
    warnUnknownConfigKeys(config, createLogger("ctld"));
    if (flags["state-dir"]) config.ctldStateDir = flags["state-dir"];
    if (flags.port) config.ctldPort = flags.port;
    if (flags["internal-port"]) config.ctldInternalPort = flags["internal-port"];
    const ctld = await runCtld(config);
    await waitForShutdown(() => ctld.stop());
  }
}
