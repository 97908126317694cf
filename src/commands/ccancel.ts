import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { connectCtld } from "../core/cli/ctld";
import { CliError, ExitCode } from "../core/cli/errors";
import type { CancelJobRequest } from "../core/generated/crane/crane";
import { parseJobStepSelectors } from "../core/parse";
import { parseStates } from "./cqueue";

const SELECTOR = /^[1-9]\d*(_\d+)?(\.[1-9]\d*)?(,[1-9]\d*(_\d+)?(\.[1-9]\d*)?)*$/;

export default class Ccancel extends CraneCommand {
  static override summary = "Cancel jobs or steps: by id (JOB or JOB.STEP, separated by commas or spaces) and/or by filters";
  static override args = { ids: Args.string({ description: "JOBID[.STEPID][,...] (several arguments are taken as one list)" }) };
  // `ccancel 12 13` as well as `ccancel 12,13`, as Slurm's scancel takes them.
  static override strict = false;
  static override flags = {
    name: Flags.string({ char: "n", description: "Jobs with this name" }),
    partition: Flags.string({ char: "p", description: "Jobs in this partition" }),
    state: Flags.string({ char: "t", description: "Jobs in this state" }),
    account: Flags.string({ char: "A", description: "Jobs of this account" }),
    user: Flags.string({ char: "u", description: "Jobs of this user" }),
    nodes: Flags.string({ char: "w", description: "Jobs on these nodes (comma list)" }),
    json: Flags.boolean({ description: "JSON output" }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Ccancel);
    const args = { ids: (argv as string[]).join(",") || undefined };
    const anyFilter = flags.name || flags.partition || flags.state || flags.account || flags.user || flags.nodes;
    if (!args.ids && !anyFilter) throw new CliError("at least one condition should be given.");
    if (args.ids && !SELECTOR.test(args.ids)) {
      throw new CliError("job id list must follow the format <job_id>[.<step_id>] or comma-separated list");
    }
    if (flags.name && flags.name.length > 60) throw new CliError("Invalid job name: name is too long (up to 60).");
    const states = flags.state ? parseStates(flags.state) : [];
    const req: CancelJobRequest = {
      jobIds: [],
      partition: flags.partition ?? "",
      name: flags.name ?? "",
      user: flags.user ?? "",
      account: flags.account ?? "",
      state: states.length === 1 ? states[0] : undefined,
      nodes: flags.nodes ? flags.nodes.split(",") : [],
    };
    if (args.ids) {
      const byJob = new Map<number, number[]>();
      for (const s of parseJobStepSelectors(args.ids)) {
        const steps = byJob.get(s.jobId) ?? [];
        if (s.stepId !== undefined) steps.push(s.stepId);
        byJob.set(s.jobId, steps);
      }
      req.jobIds = [...byJob].map(([jobId, stepIds]) => ({ jobId, stepIds }));
    }
    const ctld = connectCtld(flags.config);
    try {
      const r = await ctld.call(ctld.client.cancelJob, req, "Failed to cancel jobs");
      if (flags.json) {
        this.log(
          JSON.stringify({
            cancelled_steps: Object.fromEntries(r.cancelled.map((c) => [c.jobId, { steps: c.stepIds }])),
            not_cancelled_job_steps: Object.fromEntries(r.notCancelled.map((n) => [n.jobId, { reason: n.reason, step_ids: n.stepId ? [n.stepId] : [] }])),
          }),
        );
      } else {
        const jobs = r.cancelled.filter((c) => c.stepIds.length === 0).map((c) => String(c.jobId));
        const steps = r.cancelled.flatMap((c) => c.stepIds.map((s) => `${c.jobId}.${s}`));
        if (jobs.length && steps.length) this.log(`Job ${jobs.join(",")} Step ${steps.join(",")} cancelled successfully.`);
        else if (jobs.length) this.log(`Job ${jobs.join(",")} cancelled successfully.`);
        else if (steps.length) this.log(`Step ${steps.join(",")} cancelled successfully.`);
        for (const n of r.notCancelled) {
          this.logToStderr(
            n.stepId ? `Failed to cancel step: ${n.jobId}.${n.stepId}. Reason: ${n.reason}.` : `Failed to cancel job: ${n.jobId}. Reason: ${n.reason}.`,
          );
        }
      }
      if (r.notCancelled.length) throw new CliError(flags.json ? "" : "some jobs were not cancelled", ExitCode.Backend);
    } finally {
      ctld.close();
    }
  }
}
