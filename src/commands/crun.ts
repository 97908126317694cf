import { Flags } from "@oclif/core";
import path from "node:path";
import { CraneCommand } from "../core/cli/base";
import { CliError, ExitCode } from "../core/cli/errors";
import { applyJobOptions, applyResourceOptions, baseJobSpec, exportedEnvironment, jobOnlyFlags, OVERLAP_FLAG, resourceFlags } from "../core/cli/job-options";
import { waitForStart } from "../core/cli/progress";
import { followTerminal } from "../core/cli/pty-session";
import { followStep, jobIdFromEnv } from "../core/cli/step-client";
import { jobOnlyOptionsGiven, optionMap, stepSpec, submitJob, submitStep } from "../core/cli/submit";
import { CancelJobRequest, JobType } from "../core/generated/crane/crane";

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
    overlap: OVERLAP_FLAG,
    export: Flags.string({ description: "Environment: ALL (default), NONE, or NAME[=VALUE],..." }),
    quiet: Flags.boolean({ char: "Q", description: "No progress messages" }),
    pty: Flags.boolean({ description: "Run task 0 in a pseudo-terminal, with this terminal attached to it (e.g. crun --pty bash)" }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Crun);
    const command = argv as string[];
    if (command.length === 0) throw new CliError("Please specify program to run");
    const options = optionMap(flags);
    const parentJob = jobIdFromEnv("crun");
    const ctld = this.ctld;
    const progress = (msg: string) => {
      if (!flags.quiet && process.stderr.isTTY) process.stderr.write(`${msg}\n`);
    };
    let jobId: number;
    let stepId: number;
    const env = exportedEnvironment(flags.export);
    const name = path.basename(command[0]!);
    const cwd = flags.chdir ? path.resolve(flags.chdir) : process.cwd();
    if (parentJob) {
      const jobOnly = jobOnlyOptionsGiven(options);
      if (jobOnly.length) throw new CliError(`Invalid argument: --${jobOnly[0]} is not supported in step.`);
      const step = stepSpec(parentJob, JobType.Interactive, options, { name, cwd, env, cmdLine: command.join(" "), argv: command });
      step.pty = flags.pty;
      jobId = parentJob;
      stepId = await submitStep(ctld, step, { context: "Failed to submit the step", failure: "Failed to allocate step id" });
      progress(`Job ${jobId} step ${stepId} allocated, waiting resources.`);
    } else {
      const spec = baseJobSpec(JobType.Interactive);
      spec.name = name;
      applyResourceOptions(spec, options);
      applyJobOptions(spec, options);
      spec.cwd = cwd;
      spec.env = env;
      spec.argv = command;
      spec.cmdLine = command.join(" ");
      spec.pty = flags.pty;
      jobId = await submitJob(ctld, spec, { context: "Failed to submit the job", failure: "Failed to allocate job id" });
      stepId = 1;
      progress(`Job id allocated: ${jobId}, waiting resources.`);
    }

    let interrupted = false;
    const onInterrupt = () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`\nCancelling ${parentJob ? `step ${jobId}.${stepId}` : `job ${jobId}`}...\n`);
      void ctld
        .call("cancelJob", CancelJobRequest.fromPartial({ jobIds: [{ jobId, stepIds: parentJob ? [stepId] : [] }] }), "Failed to cancel")
        .catch(() => undefined);
    };
    process.on("SIGINT", onInterrupt);
    process.on("SIGTERM", onInterrupt);

    // On a TTY, one self-erasing line shows Pending (reason) -> Configuring -> Running meanwhile.
    const placed = await waitForStart(ctld, jobId, stepId, { show: !flags.quiet });
    if (placed.endedBeforeStart) {
      throw new CliError(`error: ${placed.reason || "the job ended before it started"}`, ExitCode.Backend);
    }
    const end = flags.pty ? await followTerminal(ctld, jobId, stepId) : await followStep(ctld, { jobId, stepId, node: "", tail: -1 });
    if (end.exitCode !== 0) {
      this.logToStderr(`error: step ${jobId}.${stepId}: ${end.reason || `exited with exit code ${end.exitCode}`}`);
      throw new CliError("", end.exitCode > 0 && end.exitCode < 256 ? end.exitCode : ExitCode.Backend);
    }
    if (end.failed) {
      throw new CliError(`error: step ${jobId}.${stepId} ${end.statusName}${end.reason ? `: ${end.reason}` : ""}`, interrupted ? 130 : ExitCode.Backend);
    }
  }
}
