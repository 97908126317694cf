import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { connectCtld } from "../core/cli/ctld";
import { runTopView, topOptions } from "../core/cli/top-flags";
import { CliError } from "../core/cli/errors";
import { renderTable } from "../core/cli/table";
import { JobStatus, JobType, type JobInfo, type QueryJobsRequest } from "../core/generated/crane/crane";
import { currentUsername } from "../core/identity";
import { ParseError, compressHostlist, expandHostlist, formatDuration, parseJobStepSelectors } from "../core/parse";

const STATE_NAMES: Record<string, JobStatus> = {
  pending: JobStatus.Pending,
  p: JobStatus.Pending,
  running: JobStatus.Running,
  r: JobStatus.Running,
  configuring: JobStatus.Configuring,
  starting: JobStatus.Starting,
  completing: JobStatus.Completing,
  completed: JobStatus.Completed,
  failed: JobStatus.Failed,
  cancelled: JobStatus.Cancelled,
  exceedtimelimit: JobStatus.ExceedTimeLimit,
  outofmemory: JobStatus.OutOfMemory,
};
const FINISHED = new Set([JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled, JobStatus.ExceedTimeLimit, JobStatus.OutOfMemory]);

export function parseStates(s: string): JobStatus[] {
  const out: JobStatus[] = [];
  for (const t of s.split(",").map((x) => x.trim().toLowerCase())) {
    if (t === "all") return [];
    const st = STATE_NAMES[t];
    if (st === undefined) throw new CliError(`unknown state: ${t} (known: ${Object.keys(STATE_NAMES).join(", ")}, all)`);
    out.push(st);
  }
  return out;
}

export function elapsed(job: { status: JobStatus; startTime: number; endTime: number }, now = Date.now()): string {
  if (!job.startTime) return "-";
  if (job.status === JobStatus.Pending) return "-";
  const end = job.endTime || now;
  return formatDuration(Math.max(0, Math.floor((end - job.startTime) / 1000)));
}

export function timeLimit(seconds: number): string {
  return seconds ? formatDuration(seconds) : "unlimited";
}

function list(name: string, v: string | undefined): string[] {
  if (v === undefined) return [];
  const items = v.split(",").map((s) => s.trim());
  if (items.some((s) => !s)) throw new CliError(`Invalid ${name} list specified: empty value.`);
  return items;
}

export default class Cqueue extends CraneCommand {
  static override summary = "Show the queue: pending and running jobs (or steps with -s)";
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
    json: Flags.boolean({ description: "JSON output" }),
    watch: Flags.boolean({ description: "Live view instead of one listing (crane top, started with --self, -u, -p and -t)" }),
  };

  /** `cqueue --watch`: the live view, starting from the listing's filters (the view's keys change them). */
  private async watch(flags: { self: boolean; user?: string; partition?: string; state: string; all: boolean; config?: string }): Promise<void> {
    const users = list("user", flags.user);
    const states = flags.state.toLowerCase().split(",");
    const state = states.length === 1 && ["pending", "running"].includes(states[0]!) ? states[0]! : flags.all ? "all" : "active";
    const options = topOptions(
      {
        mine: flags.self || users.length > 0,
        user: users[0],
        state,
        partition: list("partition", flags.partition)[0],
        sort: "id",
        nodes: false,
        once: false,
        interval: 0,
      },
      { title: "cqueue --watch" },
    );
    await runTopView(flags.config, options);
  }

  async run(): Promise<void> {
    // `-s` alone means "all steps"; a value needs `-s=ID` (as in the reference CLI).
    const argv = this.argv.map((a) => (a === "-s" || a === "--step" ? "--step=all" : a.startsWith("-s=") ? `--step=${a.slice(3)}` : a));
    const { flags } = await this.parse(Cqueue, argv);
    if (flags.watch) return this.watch(flags);
    if (flags["max-lines"] <= 0) throw new CliError("Output line number limit must be greater than 0.");
    const req: QueryJobsRequest = {
      jobIds: [],
      states: parseStates(flags.state),
      users: list("user", flags.user),
      partitions: list("partition", flags.partition),
      names: list("job name", flags.name),
      types: [],
      includeCompleted: flags.all,
      limit: flags["max-lines"],
      nodes: [],
    };
    try {
      if (flags.job) {
        const sel = parseJobStepSelectors(flags.job);
        if (sel.some((s) => s.stepId !== undefined)) throw new CliError("Step selector is unsupported in cqueue --job, use --step for step queries.");
        req.jobIds = sel.map((s) => ({ jobId: s.jobId, stepIds: [] }));
      }
      if (flags.step && flags.step !== "all")
        req.jobIds.push(...parseJobStepSelectors(flags.step).map((s) => ({ jobId: s.jobId, stepIds: s.stepId ? [s.stepId] : [] })));
      if (flags.nodelist) req.nodes = expandHostlist(flags.nodelist);
    } catch (e) {
      if (e instanceof ParseError) throw new CliError(e.message);
      throw e;
    }
    if (flags.self && !flags.user) req.users = [currentUsername()];
    if (req.states.length && !flags.all && req.states.some((s) => FINISHED.has(s))) req.includeCompleted = true;

    const ctld = connectCtld(flags.config);
    try {
      const reply = await ctld.call(ctld.client.queryJobsInfo, req, "Failed to query job queue");
      if (flags.json) {
        this.log(JSON.stringify({ ok: reply.ok, jobs: reply.jobs.map(jobJson) }));
        return;
      }
      const showSteps = flags.step !== undefined;
      this.output(reply.jobs, flags, showSteps, req);
    } finally {
      ctld.close();
    }
  }

  private output(jobs: JobInfo[], flags: { noheader: boolean; full: boolean }, showSteps: boolean, req: QueryJobsRequest): void {
    const trimAt = flags.full ? undefined : 30;
    if (showSteps) {
      const wanted = new Map(req.jobIds.map((s) => [s.jobId, s.stepIds]));
      const rows = jobs.flatMap((j) =>
        j.steps
          .filter((s) => s.stepId !== 0 || j.type === JobType.Container)
          .filter((s) => !wanted.get(j.jobId)?.length || wanted.get(j.jobId)!.includes(s.stepId))
          .sort((a, b) => a.stepId - b.stepId)
          .map((s) => [
            `${j.jobId}.${s.stepId}`,
            s.name,
            j.partition,
            j.username,
            JobStatus[s.status] ?? "",
            s.status === JobStatus.Running ? elapsed(s) : "-",
            compressHostlist(s.nodes),
          ]),
      );
      this.log(renderTable(["STEPID", "NAME", "PARTITION", "USER", "STATE", "TIME", "NODELIST"], rows, { noHeader: flags.noheader, trimAt }).trimEnd());
      return;
    }
    const rows = jobs.map((j) => [
      String(j.jobId),
      j.partition,
      j.name,
      j.username,
      j.account,
      JobStatus[j.status] ?? "",
      JobType[j.type] ?? "",
      j.status === JobStatus.Running ? elapsed(j) : "-",
      timeLimit(j.timeLimitSeconds),
      String(j.nodeNum),
      j.status === JobStatus.Pending ? j.pendingReason : compressHostlist(j.nodes) || j.reason,
    ]);
    const headers = ["JOBID", "PARTITION", "NAME", "USER", "ACCOUNT", "STATUS", "TYPE", "TIME", "TIMELIMIT", "NODES", "NODELIST/REASON"];
    this.log(renderTable(headers, rows, { noHeader: flags.noheader, trimAt }).trimEnd());
  }
}

export function jobJson(j: JobInfo): Record<string, unknown> {
  return {
    job_id: j.jobId,
    name: j.name,
    user: j.username,
    uid: j.uid,
    partition: j.partition,
    account: j.account,
    status: JobStatus[j.status],
    type: JobType[j.type],
    pending_reason: j.pendingReason,
    reason: j.reason,
    exit_code: j.exitCode,
    nodes: j.nodes,
    node_num: j.nodeNum,
    time_limit_seconds: j.timeLimitSeconds,
    submit_time: j.submitTime ? new Date(j.submitTime).toISOString() : null,
    start_time: j.startTime ? new Date(j.startTime).toISOString() : null,
    end_time: j.endTime ? new Date(j.endTime).toISOString() : null,
    alloc_per_node: j.allocPerNode,
    steps: j.steps.map((s) => ({
      step_id: s.stepId,
      name: s.name,
      status: JobStatus[s.status],
      type: JobType[s.type],
      nodes: s.nodes,
      exit_code: s.exitCode,
      reason: s.reason,
      image: s.containerMeta?.image?.image,
    })),
  };
}
