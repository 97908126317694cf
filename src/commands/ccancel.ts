import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { cancelJson, cancelRequest, cancelText, type CancelJson } from "../core/cli/cancel";
import { CliError } from "../core/cli/errors";
import { signalName } from "../core/signals";

export default class Ccancel extends CraneCommand {
  static override summary = "Cancel jobs or steps: by id (JOB or JOB.STEP, separated by commas or spaces) and/or by filters";
  static override args = { ids: Args.string({ description: "JOBID[.STEPID][,...] (several arguments are taken as one list)" }) };
  // `ccancel 12 13` as well as `ccancel 12,13`, as Slurm's scancel takes them.
  static override strict = false;
  static override enableJsonFlag = true;
  static override flags = {
    name: Flags.string({ char: "n", description: "Jobs with this name" }),
    partition: Flags.string({ char: "p", description: "Jobs in this partition" }),
    state: Flags.string({ char: "t", description: "Jobs in this state" }),
    account: Flags.string({ char: "A", description: "Jobs of this account" }),
    user: Flags.string({ char: "u", description: "Jobs of this user" }),
    nodes: Flags.string({ char: "w", description: "Jobs on these nodes (comma list)" }),
    signal: Flags.string({ char: "s", description: "Send this signal (USR1, SIGUSR1 or 10) to the jobs' running steps instead of cancelling them" }),
  };

  async run(): Promise<CancelJson> {
    const { flags, argv } = await this.parse(Ccancel);
    const signal = flags.signal === undefined ? undefined : signalName(flags.signal);
    if (flags.signal !== undefined && !signal) throw new CliError(`Invalid signal "${flags.signal}": give a name such as USR1 or SIGUSR1, or a number`);
    const req = cancelRequest((argv as string[]).join(","), flags, signal);
    const reply = await this.ctld.call("cancelJob", req, signal ? "Failed to signal jobs" : "Failed to cancel jobs");
    this.printOutcome(cancelText(reply, signal), signal ? "some jobs were not signalled" : "some jobs were not cancelled");
    return cancelJson(reply);
  }
}
