import { Args } from "@oclif/core";
import fs from "node:fs";
import { deriveNodeKey } from "../core/auth/node-credential";
import { CraneCommand } from "../core/cli/base";
import { loadCliConfig } from "../core/cli/ctld";
import { CliError, ExitCode } from "../core/cli/errors";

export default class NodeKey extends CraneCommand {
  static override summary = "Print a node's key (run as root on the control machine; install it on the node)";
  static override description =
    "Each craned proves who it is with its own key, derived from ctld's cluster key. Run this where the cluster key is " +
    "(ClusterKeyFile), then install the output on the node as Craned.NodeKeyFile (owner root, mode 0600).";
  static override args = { node: Args.string({ required: true, description: "The node's name in the config" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodeKey);
    const config = loadCliConfig(flags.config);
    if (!config.nodes.some((n) => n.name === args.node)) {
      throw new CliError(`node "${args.node}" is not in the config (known: ${config.nodes.map((n) => n.name).join(", ")})`, ExitCode.CmdArg);
    }
    let clusterKey: string;
    try {
      clusterKey = fs.readFileSync(config.clusterKeyFile, "utf8").trim();
    } catch (e) {
      throw new CliError(
        `cannot read the cluster key ${config.clusterKeyFile}: ${(e as Error).message} (run this as root on the control machine)`,
        ExitCode.System,
      );
    }
    process.stdout.write(`${deriveNodeKey(clusterKey, args.node)}\n`);
  }
}
