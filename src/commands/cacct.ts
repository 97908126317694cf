import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { errMessage } from "../core/cli/ctld";
import { CliError, ExitCode } from "../core/cli/errors";
import { commaList } from "../core/cli/filters";
import {
  FORMAT_KEYS_HELP,
  historyJson,
  parseHistoryFormat,
  parseHistoryStates,
  parseTimeWindow,
  renderHistory,
  type HistoryJson,
} from "../core/cli/job-history";
import type { QueryJobHistoryRequest } from "../core/generated/crane/crane";
import { ParseError, parseJobStepSelectors } from "../core/parse";

/** What ctld answers at most per query (the -m bound). */
const MAX_LINES = 100_000;

export default class Cacct extends CraneCommand {
  static override summary = "Show the accounting history: finished (and running) jobs with their usage";
  static override description = [
    "Jobs newest first: running ones, then by end time. MaxRSS and CPUTime come from the jobs' cgroups (the largest peak",
    "of any step on any node; the CPU time of all steps on all nodes). ExitCode is CODE:SIGNAL.",
    "Unless CraneCtld.PrivateData is off, users see only their own jobs (root and AdminUids see all).",
    "Time windows: FROM~TO, FROM~, ~TO or FROM, each an RFC 3339 time, YYYY-MM-DD[ HH:MM:SS] (UTC) or an age (2h, 1d).",
    `Format keys (-o "%j %.10M"; a width pads, a leading dot aligns right): ${FORMAT_KEYS_HELP}.`,
  ].join(" ");
  static override flags = {
    user: Flags.string({ char: "u", description: "Users, comma separated" }),
    account: Flags.string({ char: "A", description: "Accounts, comma separated" }),
    job: Flags.string({ char: "j", description: "Job ids, comma separated" }),
    state: Flags.string({ char: "s", description: "States: completed,failed,cancelled,timeout,oom,running,pending,... or all", default: "all" }),
    name: Flags.string({ char: "n", description: "Job names, comma separated" }),
    partition: Flags.string({ char: "p", description: "Partitions, comma separated" }),
    starttime: Flags.string({ char: "S", description: "Jobs that started in this window (FROM~TO)" }),
    endtime: Flags.string({ char: "E", description: "Jobs that ended in this window (FROM~TO)" }),
    submittime: Flags.string({ char: "w", description: "Jobs submitted in this window (FROM~TO)" }),
    "max-lines": Flags.integer({ char: "m", description: `At most this many jobs (up to ${MAX_LINES})`, default: 1000 }),
    format: Flags.string({ char: "o", description: "Output format, e.g. %j %n %t %x %M %C" }),
    noheader: Flags.boolean({ char: "N", description: "No header line" }),
    full: Flags.boolean({ char: "F", description: "Do not truncate cells" }),
  };
  static override enableJsonFlag = true;

  async run(): Promise<{ ok: boolean; jobs: HistoryJson[] }> {
    const { flags } = await this.parse(Cacct);
    const limit = flags["max-lines"];
    if (limit <= 0) throw new CliError("Output line number limit must be greater than 0.");
    if (limit > MAX_LINES) throw new CliError(`Output line number limit must be at most ${MAX_LINES}.`);
    if (flags.format !== undefined) parseHistoryFormat(flags.format); // a bad format fails before the query
    const req: QueryJobHistoryRequest = {
      jobIds: [],
      users: commaList("user", flags.user),
      accounts: commaList("account", flags.account),
      states: parseHistoryStates(flags.state),
      partitions: commaList("partition", flags.partition),
      names: commaList("job name", flags.name),
      startTime: flags.starttime === undefined ? undefined : parseTimeWindow(flags.starttime, "--starttime"),
      endTime: flags.endtime === undefined ? undefined : parseTimeWindow(flags.endtime, "--endtime"),
      submitTime: flags.submittime === undefined ? undefined : parseTimeWindow(flags.submittime, "--submittime"),
      limit,
    };
    if (flags.job !== undefined) {
      try {
        const selectors = parseJobStepSelectors(flags.job);
        if (selectors.length === 0) throw new CliError("Invalid job list specified: empty value.");
        if (selectors.some((s) => s.stepId !== undefined)) throw new CliError("Step selector is unsupported in cacct --job: give job ids.");
        req.jobIds = selectors.map((s) => s.jobId);
      } catch (e) {
        if (e instanceof ParseError) throw new CliError(e.message);
        throw e;
      }
    }

    const reply = await this.ctld.call("queryJobHistory", req, "Failed to query job history");
    if (!reply.ok) throw new CliError(`Failed to query job history: ${errMessage(reply.code, reply.reason)}`, ExitCode.Backend);
    const now = Date.now();
    if (!this.jsonEnabled()) {
      const out = renderHistory(reply.jobs, { format: flags.format, noHeader: flags.noheader, full: flags.full, now });
      if (out) this.log(out);
    }
    return { ok: true, jobs: reply.jobs.map((e) => historyJson(e, now)) };
  }
}
