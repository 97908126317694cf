import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { modifyJobs, modifyNodes, parseUpdate, type ModifyJson } from "../../core/cli/control";

export default class CcontrolUpdate extends CraneCommand {
  static override summary = "Change a pending job (time limit, priority, partition, node list), a running job's time limit, or drain/resume nodes";
  static override description = [
    "ccontrol update job 12 TimeLimit=2:00:00 Partition=GPU NodeList=cn[1-2] Priority=100",
    "ccontrol update JobId=12 TimeLimit=30",
    'ccontrol update node cn[1-4] State=drain Reason="disk replacement"',
    "ccontrol update NodeName=cn1 State=resume",
    "Users may lower their jobs' time limits; raising one, setting a priority and draining nodes are for administrators.",
  ].join("\n");
  static override args = { what: Args.string({ description: "job JOBID key=value... | node NODES key=value...", required: true }) };
  static override strict = false;
  static override enableJsonFlag = true;

  async run(): Promise<ModifyJson> {
    const { argv } = await this.parse(CcontrolUpdate);
    const change = parseUpdate(argv as string[]);
    const outcome = "job" in change ? await modifyJobs(this.ctld, change.job, "updated") : await modifyNodes(this.ctld, change.node);
    this.printOutcome(outcome, "job" in change ? "some jobs were not changed" : "some nodes were not changed");
    return outcome.json;
  }
}
