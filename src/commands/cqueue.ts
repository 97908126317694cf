import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { CliError } from "../core/cli/errors";
import { FINISHED_STATES, commaList, parseStates } from "../core/cli/filters";
import { JOB_COLUMNS, STEP_COLUMNS, checkQueueFormat, queueJson, renderJobs, renderSteps, stepRows, type QueueJson } from "../core/cli/queue";
import { formatKeys } from "../core/cli/format";
import { runTopView, topOptions } from "../core/cli/top-flags";
import type { QueryJobsRequest } from "../core/generated/crane/crane";
import { currentUsername } from "../core/identity";
import { ParseError, expandHostlist, parseJobStepSelectors } from "../core/parse";

export default class Cqueue extends CraneCommand {
  static override summary = "Show the queue: pending and running jobs (or steps with -s)";
  static override description = [
    'Format keys (-o "%.6j %-10n %t"; a width pads and cuts, a leading dot aligns right):',
    `jobs: ${formatKeys(JOB_COLUMNS)}.`,
    `steps (-s): ${formatKeys(STEP_COLUMNS)}.`,
  ].join("\n");
  static override enableJsonFlag = true;
  static override flags = {
    job: Flags.string({ char: "j", description: "Job ids, comma separated" }),
    step: Flags.string({ char: "s", description: "Show steps: -s for all, -s=JOB.STEP,... for some" }),
    state: Flags.string({ char: "t", description: "States: pending,running,completing,... or all", default: "all" }),
    user: Flags.string({ char: "u", description: "Users, comma separated" }),
    self: Flags.boolean({ description: "Only my jobs" }),
    name: Flags.string({ char: "n", description: "Job names" }),
    partition: Flags.string({ char: "p", description: "Partitions" }),
    nodelist: Flags.string({ char: "w", description: "Jobs on these nodes (host list)" }),
    all: Flags.boolean({ char: "a", description: "Include finished jobs" }),
    noheader: Flags.boolean({ char: "N", description: "No header line" }),
    full: Flags.boolean({ char: "F", description: "Do not truncate cells" }),
    "max-lines": Flags.integer({ char: "m", description: "At most this many jobs", default: 1000 }),
    format: Flags.string({ char: "o", description: "Output format, e.g. '%j %n %t %L' (keys in the description)" }),
    watch: Flags.boolean({ description: "Live view instead of one listing (crane top, started with --self, -u, -p and -t)" }),
  };

  /** `cqueue --watch`: the live view, starting from the listing's filters (the view's keys change them). */
  private async watch(flags: { self: boolean; user?: string; partition?: string; state: string; all: boolean; config?: string }): Promise<void> {
    const users = commaList("user", flags.user);
    const states = flags.state.toLowerCase().split(",");
    const state = states.length === 1 && ["pending", "running"].includes(states[0]!) ? states[0]! : flags.all ? "all" : "active";
    const options = topOptions(
      {
        mine: flags.self || users.length > 0,
        user: users[0],
        state,
        partition: commaList("partition", flags.partition)[0],
        sort: "id",
        nodes: false,
        once: false,
        interval: 0,
      },
      { title: "cqueue --watch" },
    );
    await runTopView(this.ctld, options, this.colorFlag);
  }

  async run(): Promise<QueueJson | undefined> {
    // `-s` alone means "all steps"; a value needs `-s=ID` (as in the reference CLI).
    const argv = this.argv.map((a) => (a === "-s" || a === "--step" ? "--step=all" : a.startsWith("-s=") ? `--step=${a.slice(3)}` : a));
    const { flags } = await this.parse(Cqueue, argv);
    if (flags.watch) return void (await this.watch(flags));
    if (flags["max-lines"] <= 0) throw new CliError("Output line number limit must be greater than 0.");
    const showSteps = flags.step !== undefined;
    if (flags.format !== undefined) checkQueueFormat(flags.format, showSteps);
    const req: QueryJobsRequest = {
      jobIds: [],
      states: parseStates(flags.state),
      users: commaList("user", flags.user),
      partitions: commaList("partition", flags.partition),
      names: commaList("job name", flags.name),
      types: [],
      includeCompleted: flags.all,
      limit: flags["max-lines"],
      nodes: [],
    };
    try {
      if (flags.job) {
        const sel = parseJobStepSelectors(flags.job);
        if (sel.some((s) => s.stepId !== undefined)) throw new CliError("Step selector is unsupported in cqueue --job, use --step for step queries.");
        req.jobIds = sel.map((s) => ({ jobId: s.jobId, stepIds: [], arrayTaskId: s.arrayTaskId }));
      }
      if (flags.step && flags.step !== "all")
        req.jobIds.push(...parseJobStepSelectors(flags.step).map((s) => ({ jobId: s.jobId, stepIds: s.stepId ? [s.stepId] : [] })));
      if (flags.nodelist) req.nodes = expandHostlist(flags.nodelist);
    } catch (e) {
      if (e instanceof ParseError) throw new CliError(e.message);
      throw e;
    }
    if (flags.self && !flags.user) req.users = [currentUsername()];
    if (req.states.length && !flags.all && req.states.some((s) => FINISHED_STATES.has(s))) req.includeCompleted = true;

    const reply = await this.ctld.call("queryJobsInfo", req, "Failed to query job queue");
    const view = { noHeader: flags.noheader, full: flags.full, format: flags.format };
    const wanted = new Map(req.jobIds.map((s) => [s.jobId, s.stepIds]));
    const out = showSteps ? renderSteps(stepRows(reply.jobs, wanted), view) : renderJobs(reply.jobs, view);
    if (out) this.log(out);
    return queueJson(reply.ok, reply.jobs);
  }
}
