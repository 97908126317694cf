import { Flags } from "@oclif/core";
import { spawn } from "node:child_process";
import { CraneCommand } from "../core/cli/base";
import { CliError, ExitCode } from "../core/cli/errors";
import { applyJobOptions, applyResourceOptions, baseJobSpec, jobOnlyFlags, resourceFlags } from "../core/cli/job-options";
import { waitForStart } from "../core/cli/progress";
import { jobIdFromEnv } from "../core/cli/step-client";
import { optionMap, submitJob } from "../core/cli/submit";
import { CancelJobRequest, JobType } from "../core/generated/crane/crane";
import { compressHostlist } from "../core/parse";
import { exitCodeOfSignal } from "../core/signals";

// What holds the allocation on the job's first node while the shell runs here: the job's primary step.
const HOLDER = ["sleep", "infinity"];

export default class Calloc extends CraneCommand {
  static override summary = "Get an allocation and run a shell (or a command) here, with CRANE_JOB_ID set for crun";
  static override description = [
    "calloc waits until the job has its nodes, then runs $SHELL (or the command given) on this host with",
    "CRANE_JOB_ID, CRANE_JOB_NODELIST and CRANE_JOB_NUM_NODES set, so that crun and ccon run inside it add steps",
    "to the job. When the shell exits, the allocation ends and calloc exits with the shell's exit code.",
  ].join("\n");
  static override examples = ["<%= config.bin %> -N 2 -c 4 -t 1:00:00", "<%= config.bin %> -c 2 crun hostname"];
  static override stopAtFirstPositional = true;
  static override strict = false;
  static override flags = {
    ...resourceFlags,
    ...jobOnlyFlags,
    quiet: Flags.boolean({ char: "Q", description: "No progress messages" }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Calloc);
    if (jobIdFromEnv("calloc") !== undefined) throw new CliError("calloc inside a job (CRANE_JOB_ID is set): unset it to get a new allocation");
    const command = (argv as string[]).length ? (argv as string[]) : [process.env.SHELL || "/bin/sh"];
    const say = (msg: string) => {
      if (!flags.quiet) process.stderr.write(`calloc: ${msg}\n`);
    };
    const options = optionMap(flags);
    const spec = baseJobSpec(JobType.Interactive);
    spec.name = "calloc";
    applyResourceOptions(spec, options);
    applyJobOptions(spec, options);
    spec.argv = HOLDER;
    spec.cmdLine = ["calloc", ...command].join(" ");
    const ctld = this.ctld;
    const jobId = await submitJob(ctld, spec, { context: "Failed to submit the job", failure: "Failed to allocate job id" });
    say(`Pending job allocation ${jobId}`);

    let ended = false;
    const relinquish = async () => {
      if (ended) return;
      ended = true;
      say(`Relinquishing job allocation ${jobId}`);
      await ctld
        .call("cancelJob", CancelJobRequest.fromPartial({ jobIds: [{ jobId }] }), "Failed to cancel")
        .catch((e: Error) => process.stderr.write(`calloc: could not end job ${jobId}: ${e.message}; ccancel ${jobId}\n`));
    };
    const onSignal = () => void relinquish().then(() => process.exit(130));
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);

    const placed = await waitForStart(ctld, jobId, 1, { show: !flags.quiet });
    if (placed.endedBeforeStart) throw new CliError(`error: ${placed.reason || "the job ended before it started"}`, ExitCode.Backend);
    const nodes = placed.job?.nodes ?? [];
    say(`Granted job allocation ${jobId} on ${compressHostlist(nodes)}`);

    // The shell is in the foreground: a Ctrl-C reaches it (and is its to handle), not calloc.
    process.off("SIGINT", onSignal);
    process.on("SIGINT", () => undefined);
    const env = { ...process.env, CRANE_JOB_ID: String(jobId), CRANE_JOB_NODELIST: nodes.join(";"), CRANE_JOB_NUM_NODES: String(nodes.length) };
    const code = await new Promise<number>((resolve) => {
      const child = spawn(command[0]!, command.slice(1), { stdio: "inherit", env });
      child.on("error", (e) => {
        process.stderr.write(`calloc: cannot run ${command[0]}: ${e.message}\n`);
        resolve(127);
      });
      child.on("exit", (c, signal) => resolve(c ?? (signal ? exitCodeOfSignal(signal) : 128)));
    });
    await relinquish();
    if (code !== 0) throw new CliError("", code);
  }
}
