import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { connectCtld } from "../core/cli/ctld";
import { CliError } from "../core/cli/errors";
import { renderTable } from "../core/cli/table";
import { compressHostlist, formatGres } from "../core/parse";

const STATES = ["idle", "mix", "alloc", "down"];

export default class Cinfo extends CraneCommand {
  static override summary = "Show partitions and nodes with their state";
  static override flags = {
    partition: Flags.string({ char: "p", description: "Partitions (comma list)" }),
    nodes: Flags.string({ char: "n", description: "Nodes (comma list)" }),
    states: Flags.string({ char: "t", description: "Node states: idle,mix,alloc,down", exclusive: ["dead", "responding"] }),
    dead: Flags.boolean({ char: "d", description: "Only down nodes", exclusive: ["responding"] }),
    responding: Flags.boolean({ char: "r", description: "Only responding nodes" }),
    noheader: Flags.boolean({ char: "N", description: "No header line" }),
    "list-reasons": Flags.boolean({ char: "R", description: "Down nodes with the reason" }),
    long: Flags.boolean({ char: "l", description: "One line per node with CPU, memory and GRES use" }),
    json: Flags.boolean({ description: "JSON output" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Cinfo);
    let states = flags.states ? flags.states.toLowerCase().split(",") : [];
    for (const s of states) if (!STATES.includes(s)) throw new CliError(`Invalid resource state given: ${s} (known: ${STATES.join(", ")})`);
    if (flags.dead) states = ["down"];
    if (flags.responding) states = ["idle", "mix", "alloc"];
    const ctld = connectCtld(flags.config);
    try {
      const r = await ctld.call(
        ctld.client.queryClusterInfo,
        {
          partitions: flags.partition?.split(",").filter(Boolean) ?? [],
          nodes: flags.nodes?.split(",").filter(Boolean) ?? [],
          states,
        },
        "Failed to query cluster information",
      );
      if (flags.json) {
        this.log(JSON.stringify(r));
        return;
      }
      if (flags.long) {
        const rows = r.nodes.map((n) => [
          n.name,
          n.partitions.join(","),
          n.state,
          `${n.allocated?.cpu ?? 0}/${n.total?.cpu ?? 0}`,
          `${Math.round((n.allocated?.memoryBytes ?? 0) / 1048576)}/${Math.round((n.total?.memoryBytes ?? 0) / 1048576)}M`,
          formatGres(n.total?.gres ?? {}) || "-",
          n.reason,
        ]);
        this.log(renderTable(["NODE", "PARTITION", "STATE", "CPU(A/T)", "MEM(A/T)", "GRES", "REASON"], rows, { noHeader: flags.noheader }).trimEnd());
        return;
      }
      const rows: string[][] = [];
      for (const p of r.partitions) {
        const groups = new Map<string, string[]>();
        for (const n of r.nodes.filter((n) => n.partitions.includes(p.name))) {
          groups.set(n.state, [...(groups.get(n.state) ?? []), n.name]);
        }
        for (const [state, names] of groups) {
          if (flags["list-reasons"] && state !== "down") continue;
          const reason = r.nodes.find((n) => n.name === names[0])?.reason ?? "";
          rows.push([
            p.name + (p.isDefault ? "*" : ""),
            p.up ? "up" : "down",
            String(names.length),
            state,
            compressHostlist(names),
            ...(flags["list-reasons"] ? [reason] : []),
          ]);
        }
        if (groups.size === 0 && !flags["list-reasons"]) rows.push([p.name, p.up ? "up" : "down", "0", "n/a", ""]);
      }
      const headers = ["PARTITION", "AVAIL", "NODES", "STATE", "NODELIST", ...(flags["list-reasons"] ? ["REASON"] : [])];
      if (rows.length === 0) this.log("No matching partitions were found for the given filter.");
      else this.log(renderTable(headers, rows, { noHeader: flags.noheader }).trimEnd());
    } finally {
      ctld.close();
    }
  }
}
