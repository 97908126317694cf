import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { emptyJobChange, modifyJobs, parseJobIds, type ModifyJson } from "../../core/cli/control";

export default class CcontrolHold extends CraneCommand {
  static override summary = "Hold pending jobs: they are not started until released";
  static override args = { ids: Args.string({ description: "JOBID[,JOBID...] (commas or spaces)", required: true }) };
  static override strict = false;
  static override enableJsonFlag = true;

  async run(): Promise<ModifyJson> {
    const { argv } = await this.parse(CcontrolHold);
    const outcome = await modifyJobs(this.ctld, { ...emptyJobChange(parseJobIds(argv as string[])), setHold: true, hold: true }, "held");
    this.printOutcome(outcome, "some jobs were not changed");
    return outcome.json;
  }
}
