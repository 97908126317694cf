import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { cancelJson, cancelRequest, cancelText, type CancelJson } from "../core/cli/cancel";
import { CliError } from "../core/cli/errors";

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
    // Accepted so that the habit gets an answer rather than "unknown flag"; ctld cannot signal a job yet.
    signal: Flags.string({ char: "s", description: "Send a signal instead of cancelling (not supported yet)", hidden: true }),
  };

  async run(): Promise<CancelJson> {
    const { flags, argv } = await this.parse(Ccancel);
    if (flags.signal !== undefined) {
      throw new CliError(`--signal is not supported yet: ctld can only cancel (SIGTERM, then SIGKILL), not send ${flags.signal} to a job`);
    }
    const req = cancelRequest((argv as string[]).join(","), flags);
    const reply = await this.ctld.call(this.ctld.client.cancelJob, req, "Failed to cancel jobs");
    this.printOutcome(cancelText(reply), "some jobs were not cancelled");
    return cancelJson(reply);
  }
}
