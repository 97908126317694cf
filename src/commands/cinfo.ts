import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import {
  CLUSTER_COLUMNS,
  checkClusterFormat,
  clusterJson,
  partitionStateRows,
  renderNodes,
  renderPartitionStates,
  type ClusterJson,
} from "../core/cli/cluster-info";
import { CliError } from "../core/cli/errors";
import { formatKeys } from "../core/cli/format";

const STATES = ["idle", "mix", "alloc", "down", "drain", "drng"];

export default class Cinfo extends CraneCommand {
  static override summary = "Show partitions and nodes with their state";
  static override description = `Format keys (-o "%p %.5a %n %s %l"; a width pads and cuts, a leading dot aligns right): ${formatKeys(CLUSTER_COLUMNS)}.`;
  static override enableJsonFlag = true;
  static override flags = {
    partition: Flags.string({ char: "p", description: "Partitions (comma list)" }),
    nodes: Flags.string({ char: "n", description: "Nodes (comma list)" }),
    states: Flags.string({ char: "t", description: "Node states: idle,mix,alloc,down,drain,drng", exclusive: ["dead", "responding"] }),
    dead: Flags.boolean({ char: "d", description: "Only down nodes", exclusive: ["responding"] }),
    responding: Flags.boolean({ char: "r", description: "Only responding nodes" }),
    noheader: Flags.boolean({ char: "N", description: "No header line" }),
    "list-reasons": Flags.boolean({ char: "R", description: "Down and drained nodes with the reason" }),
    long: Flags.boolean({ char: "l", description: "One line per node with CPU, memory and GRES use", exclusive: ["format"] }),
    format: Flags.string({ char: "o", description: "Output format, e.g. '%p %a %n %s %l' (keys in the description)" }),
  };

  async run(): Promise<ClusterJson> {
    const { flags } = await this.parse(Cinfo);
    let states = flags.states ? flags.states.toLowerCase().split(",") : [];
    for (const s of states) if (!STATES.includes(s)) throw new CliError(`Invalid resource state given: ${s} (known: ${STATES.join(", ")})`);
    if (flags.dead) states = ["down"];
    if (flags.responding) states = STATES.filter((s) => s !== "down");
    if (flags.format !== undefined) checkClusterFormat(flags.format);
    const reply = await this.ctld.call(
      "queryClusterInfo",
      {
        partitions: flags.partition?.split(",").filter(Boolean) ?? [],
        nodes: flags.nodes?.split(",").filter(Boolean) ?? [],
        states,
      },
      "Failed to query cluster information",
    );
    if (flags.long) {
      this.log(renderNodes(reply.nodes, { noHeader: flags.noheader }));
    } else {
      const rows = partitionStateRows(reply, flags["list-reasons"]);
      if (rows.length === 0) this.log("No matching partitions were found for the given filter.");
      else this.log(renderPartitionStates(rows, { noHeader: flags.noheader, listReasons: flags["list-reasons"], format: flags.format }));
    }
    return clusterJson(reply);
  }
}
