import { Flags } from "@oclif/core";
import os from "node:os";
import path from "node:path";
import { CraneCommand } from "../core/cli/base";
import { loadCliConfig } from "../core/cli/ctld";
import { waitForShutdown, warnUnknownConfigKeys } from "../core/cli/daemon";
import { createLogger } from "../core/log";
import { runCraned } from "../modes/craned";

export default class Craned extends CraneCommand {
  static override summary = "Run the node daemon of one node";
  static override flags = {
    node: Flags.string({ description: "This node's name in the config (default: the short host name)" }),
    port: Flags.integer({ description: "Port to listen on (default: the node's port in the config, else CranedListenPort)" }),
    "state-dir": Flags.string({ description: "Node state directory (default: <CraneBaseDir>/craned/<node>)" }),
    "runtime-dir": Flags.string({ description: "Node runtime directory, best on a tmpfs (default: <CranedRuntimeDir>/<node>)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Craned);
    const config = loadCliConfig(flags.config);
    warnUnknownConfigKeys(config, createLogger("craned"));
    const node = flags.node ?? (os.hostname().split(".")[0] || "localhost");
    const craned = await runCraned(config, {
      node,
      port: flags.port ?? config.nodes.find((n) => n.name === node)?.port ?? config.cranedPort,
      stateDir: flags["state-dir"] ?? path.join(config.baseDir, "craned", node),
      runtimeDir: flags["runtime-dir"],
    });
    await waitForShutdown(() => craned.stop());
  }
}
