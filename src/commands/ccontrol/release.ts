import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { emptyJobChange, modifyJobs, parseJobIds, type ModifyJson } from "../../core/cli/control";

export default class CcontrolRelease extends CraneCommand {
  static override summary = "Release held jobs, so that they are scheduled again";
  static override args = { ids: Args.string({ description: "JOBID[,JOBID...] (commas or spaces)", required: true }) };
  static override strict = false;
  static override enableJsonFlag = true;

  async run(): Promise<ModifyJson> {
    const { argv } = await this.parse(CcontrolRelease);
    const outcome = await modifyJobs(this.ctld, { ...emptyJobChange(parseJobIds(argv as string[])), setHold: true, hold: false }, "released");
    this.printOutcome(outcome, "some jobs were not changed");
    return outcome.json;
  }
}
