import { Flags } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { connectCtld, errMessage } from "../core/cli/ctld";
import { CliError, ExitCode } from "../core/cli/errors";
import { applyJobOptions, applyResourceOptions, baseJobSpec, exportedEnvironment, jobOnlyFlags, resourceFlags, type OptionMap } from "../core/cli/job-options";
import { waitForStart } from "../core/cli/progress";
import { followStep, jobIdFromEnv } from "../core/cli/step-client";
import { JobType, StepSpec } from "../core/generated/crane/crane";
import path from "node:path";

export default class Crun extends CraneCommand {
  static override summary = "Run a command on allocated nodes and stream its output back";
  static override description = [
    "Outside a job, crun submits a new job and runs the command in it; inside a job (CRANE_JOB_ID set, e.g. in a",
    "cbatch script) it runs the command as a new step of that job. The output is streamed back as it is written,",
    "and crun exits with the command's exit code. Everything after the command's name belongs to the command.",
  ].join("\n");
  static override examples = ["<%= config.bin %> -N 2 hostname", "<%= config.bin %> -c 2 --mem 1G python train.py"];
  static override stopAtFirstPositional = true;
  static override strict = false;
  static override flags = {
    ...resourceFlags,
    ...jobOnlyFlags,
    chdir: Flags.string({ char: "D", description: "Working directory" }),
    export: Flags.string({ description: "Environment: ALL (default), NONE, or NAME[=VALUE],..." }),
    quiet: Flags.boolean({ char: "Q", description: "No progress messages" }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Crun);
    const command = argv as string[];
    if (command.length === 0) throw new CliError("Please specify program to run");
    const options = Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, v === undefined ? undefined : String(v)])) as OptionMap;
    const parentJob = jobIdFromEnv("crun");
    const ctld = connectCtld(flags.config);
    const progress = (msg: string) => {
      if (!flags.quiet && process.stderr.isTTY) process.stderr.write(`${msg}\n`);
    };
    try {
      let jobId: number;
      let stepId: number;
      const env = exportedEnvironment(flags.export);
      if (parentJob) {
        for (const f of Object.keys(jobOnlyFlags)) {
          if ((flags as Record<string, unknown>)[f] !== undefined && (flags as Record<string, unknown>)[f] !== false) {
            throw new CliError(`Invalid argument: --${f} is not supported in step.`);
          }
        }
        const res = baseJobSpec(JobType.Interactive);
        applyResourceOptions(res, options);
        const step = StepSpec.fromPartial({
          jobId: parentJob,
          type: JobType.Interactive,
          name: path.basename(command[0]!),
          nodeNum: res.nodeNum,
          ntasks: res.ntasks,
          ntasksPerNode: res.ntasksPerNode,
          cpusPerTask: flags["cpus-per-task"] ? res.cpusPerTask : 0,
          memPerNode: res.memPerNode,
          gresPerNode: res.gresPerNode,
          gresGiven: !!(flags.gres || flags["gpus-per-node"]),
          nodelist: res.nodelist,
          excludes: res.excludes,
          timeLimitSeconds: res.timeLimitSeconds,
          cwd: flags.chdir ? path.resolve(flags.chdir) : process.cwd(),
          env,
          cmdLine: command.join(" "),
          argv: command,
        });
        const r = await ctld.call(ctld.client.submitStep, { step }, "Failed to submit the step");
        if (!r.ok) throw new CliError(`Failed to allocate step id: ${errMessage(r.code, r.reason)}`, ExitCode.Backend);
        jobId = parentJob;
        stepId = r.stepId;
        progress(`Job ${jobId} step ${stepId} allocated, waiting resources.`);
      } else {
        const spec = baseJobSpec(JobType.Interactive);
        spec.name = path.basename(command[0]!);
        applyResourceOptions(spec, options);
        applyJobOptions(spec, options);
        if (flags.chdir) spec.cwd = path.resolve(flags.chdir);
        spec.env = env;
        spec.argv = command;
        spec.cmdLine = command.join(" ");
        const r = await ctld.call(ctld.client.submitBatchJob, { job: spec }, "Failed to submit the job");
        if (!r.ok) throw new CliError(`Failed to allocate job id: ${errMessage(r.code, r.reason)}`, ExitCode.Backend);
        jobId = r.jobId;
        stepId = 1;
        progress(`Job id allocated: ${jobId}, waiting resources.`);
      }

      let interrupted = false;
      const onInterrupt = () => {
        if (interrupted) return;
        interrupted = true;
        process.stderr.write(`\nCancelling ${parentJob ? `step ${jobId}.${stepId}` : `job ${jobId}`}...\n`);
        void ctld
          .call(
            ctld.client.cancelJob,
            {
              jobIds: [{ jobId, stepIds: parentJob ? [stepId] : [] }],
              partition: "",
              name: "",
              user: "",
              account: "",
              nodes: [],
            },
            "Failed to cancel",
          )
          .catch(() => undefined);
      };
      process.on("SIGINT", onInterrupt);
      process.on("SIGTERM", onInterrupt);

      // On a TTY, one self-erasing line shows Pending (reason) -> Configuring -> Running meanwhile.
      const placed = await waitForStart(ctld, jobId, stepId, { show: !flags.quiet });
      if (placed.endedBeforeStart) {
        throw new CliError(`error: ${placed.reason || "the job ended before it started"}`, ExitCode.Backend);
      }
      const end = await followStep(ctld, { jobId, stepId, node: "", tail: -1 });
      if (end.exitCode !== 0) {
        this.logToStderr(`error: step ${jobId}.${stepId}: ${end.reason || `exited with exit code ${end.exitCode}`}`);
        throw new CliError("", end.exitCode > 0 && end.exitCode < 256 ? end.exitCode : ExitCode.Backend);
      }
      if (end.failed) {
        throw new CliError(`error: step ${jobId}.${stepId} ${end.statusName}${end.reason ? `: ${end.reason}` : ""}`, interrupted ? 130 : ExitCode.Backend);
      }
    } finally {
      ctld.close();
    }
  }
}
