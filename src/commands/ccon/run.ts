import { Flags } from "@oclif/core";
import path from "node:path";
import { CraneCommand } from "../../core/cli/base";
import { buildFlagSpec, type FlagDefLike } from "../../core/cli/argv";
import { registryAuthFor } from "../../core/cli/registry";
import type { CtldConnection } from "../../core/cli/ctld";
import { containerExitCode, exitCodeAfterAttach, openContainerSession, StepNotRunningError } from "../../core/cli/container-session";
import { CliError, ExitCode } from "../../core/cli/errors";
import type { CconJson } from "../../core/cli/json";
import { applyJobOptions, applyResourceOptions, baseJobSpec, buildPodMeta, jobOnlyFlags, OVERLAP_FLAG, resourceFlags } from "../../core/cli/job-options";
import { waitForStart } from "../../core/cli/progress";
import { dashCommandNote, isCommandNotFound, misplacedFlagMessage, misplacedFlags } from "../../core/cli/run-hint";
import { followStep, jobIdFromEnv } from "../../core/cli/step-client";
import { optionMap, stepSpec, submitJob, submitStep } from "../../core/cli/submit";
import { JobType, type ContainerMeta } from "../../core/generated/crane/crane";
import { ParseError, normaliseImageRef, parseEnvAssignment, parseVolume } from "../../core/parse";

export default class CconRun extends CraneCommand {
  static override summary = "Run a container: a new container job, or a step of the current job when CRANE_JOB_ID is set";
  static override description = [
    "In the foreground, ccon run streams the container's output and exits with the container's exit code; the whole",
    "output is shown even when the container ended before ccon connected. With -d it prints the container id",
    "(JOBID.STEPID) and returns at once.",
    "",
    "Scheduling options go between 'ccon' and 'run', e.g. 'ccon -p CPU -c 2 --mem 1G run busybox ...'; everything after",
    "the image is the container's command, so a ccon flag written there is refused with the command line meant.",
    "A container named with --name can be given by that name to attach, exec, logs, stop and inspect.",
    "With --json, ccon run submits, prints the container's id as JSON and returns (as -d does).",
    "Detach key: in an interactive TTY session, press Ctrl-P + Ctrl-Q to detach without stopping the container.",
  ].join("\n");
  static override examples = [
    "ccon run busybox echo hello",
    "ccon -c 2 --mem 1G run -d --name web -p 8080:80 busybox httpd -f -p 80",
    "ccon -N 2 run busybox hostname",
  ];
  static override stopAtFirstPositional = true;
  static override strict = false;
  // `--dependency` without its -d here: after `run`, -d is --detach, as in docker run.
  static override topicFlags = { ...resourceFlags, ...jobOnlyFlags, dependency: Flags.string({ description: jobOnlyFlags.dependency.description }) };
  static override topicFlagsHeader = "CRANE FLAGS";
  static override topicFlagsNote = "To use crane flags, place them between 'ccon' and 'run', e.g.,\n  ccon -p CPU run ...";
  static override enableJsonFlag = true;
  static override flags = {
    name: Flags.string({ description: "Name of the job, the container and the pod" }),
    ports: Flags.string({ char: "p", description: "Publish a port: PORT or HOST:CONTAINER[/udp]", multiple: true }),
    env: Flags.string({ char: "e", description: "Set an environment variable: K=V (K alone copies it from here)", multiple: true }),
    volume: Flags.string({ char: "v", description: "Bind mount: HOST:CONTAINER[:ro]", multiple: true }),
    detach: Flags.boolean({ char: "d", description: "Run in the background and print the container id" }),
    overlap: OVERLAP_FLAG,
    rm: Flags.boolean({ description: "Remove the container when it ends (crane always does: accepted for docker's habit)" }),
    interactive: Flags.boolean({ char: "i", description: "Keep stdin open" }),
    tty: Flags.boolean({ char: "t", description: "Allocate a terminal" }),
    entrypoint: Flags.string({ description: "Override the image's entrypoint" }),
    workdir: Flags.string({ char: "w", description: "Working directory inside the container" }),
    user: Flags.string({ char: "u", description: "Run as UID[:GID] (numeric)" }),
    userns: Flags.boolean({ description: "Run in a user namespace as fake root (default from config)", allowNo: true }),
    "pull-policy": Flags.string({ description: "When to pull the image", options: ["Always", "IfNotPresent", "Never"] }),
    network: Flags.string({ description: "default (a pod network) or host (the node's network)", default: "default" }),
    dns: Flags.string({ description: "DNS server of the pod (IPv4)", multiple: true }),
  };

  async run(): Promise<CconJson<RunJson> | undefined> {
    const { flags, argv } = await this.parse(CconRun);
    const topic = (await this.parseTopicFlags()) as Record<string, unknown>;
    const words = argv as string[];
    if (words.length === 0) throw new CliError("run requires at least one argument: IMAGE [COMMAND] [ARG...]");
    if (flags.network !== "default" && flags.network !== "host") {
      throw new CliError(`invalid network specification '${flags.network}': only 'host' and 'default' are supported`);
    }
    const [imageArg, ...command] = words;
    if (!flags.entrypoint) this.refuseMisplacedFlags(imageArg!, command);
    let image;
    let env: Record<string, string>;
    let mounts;
    try {
      image = normaliseImageRef(imageArg!);
      env = Object.fromEntries((flags.env ?? []).map((e) => parseEnvAssignment(e)));
      mounts = (flags.volume ?? []).map((v) => parseVolume(v));
    } catch (e) {
      if (e instanceof ParseError) throw new CliError(`validation failed: ${e.message}`);
      throw e;
    }
    for (const k of Object.keys(env)) if (k.startsWith("CRANE_")) this.warn(`Environment variable ${k} uses reserved CRANE_ prefix`);
    const auth = registryAuthFor(image.domain, (m) => this.warn(m));
    const containerMeta: ContainerMeta = {
      image: {
        image: image.image,
        pullPolicy: flags["pull-policy"] ?? "",
        serverAddress: image.domain,
        username: auth?.username ?? "",
        password: auth?.password ?? "",
      },
      name: flags.name ?? "",
      command: flags.entrypoint ? [flags.entrypoint] : command.slice(0, 1),
      args: flags.entrypoint ? command : command.slice(1),
      workdir: flags.workdir ?? "",
      env,
      mounts: mounts.map((m) => ({ hostPath: path.resolve(m.hostPath), containerPath: m.containerPath, readonly: m.readonly })),
      tty: flags.tty,
      stdin: flags.interactive,
      stdinOnce: flags.interactive && !flags.detach,
      detached: flags.detach,
    };
    const options = optionMap({ ...topic, overlap: flags.overlap });
    const parentJob = jobIdFromEnv("ccon run");
    const ctld = this.ctld;
    let jobId: number;
    let stepId: number;
    if (parentJob) {
      if (flags.user || flags.ports?.length || flags.userns !== undefined || flags.network !== "default") {
        throw new CliError(
          "failed to build container step: user, userns, port, and network options are not supported when submitting container steps; pod configuration is inherited from the job",
        );
      }
      const step = stepSpec(parentJob, JobType.Container, options, {
        name: flags.name ?? "",
        cwd: process.cwd(),
        cmdLine: process.argv.slice(1).join(" "),
        containerMeta,
        ntasks: 1,
      });
      jobId = parentJob;
      stepId = await submitStep(ctld, step, { context: "Failed to submit the container step", failure: "Container step submission failed" });
    } else {
      const spec = baseJobSpec(JobType.Container);
      spec.env = {};
      spec.name = flags.name ?? "";
      applyResourceOptions(spec, options);
      applyJobOptions(spec, options);
      spec.containerMeta = containerMeta;
      spec.podMeta = buildPodMeta({
        name: flags.name,
        ports: flags.ports,
        user: flags.user,
        userns: flags.userns ?? ctld.config.container.userNsEnabledByDefault,
        hostNetwork: flags.network === "host",
        dns: flags.dns,
      });
      jobId = await submitJob(ctld, spec, { context: "Failed to submit the container job", failure: "Container job submission failed" });
      stepId = 1;
    }
    const result = { action: "run", data: { job_id: jobId, step_id: stepId, container: `${jobId}.${stepId}` } };
    if (flags.detach || this.jsonEnabled()) {
      this.log(`${jobId}.${stepId}`);
      return result;
    }
    try {
      await this.runInForeground(jobId, stepId, flags);
    } catch (e) {
      throw command[0]?.startsWith("-") && e instanceof CliError ? withDashCommandNote(e, command[0]) : e;
    }
    return undefined;
  }

  private async runInForeground(jobId: number, stepId: number, flags: { tty: boolean; interactive: boolean }): Promise<void> {
    const ctld = this.ctld;
    // On a terminal, one line follows the job's states until the container runs (nothing without a terminal).
    const started = await waitForStart(ctld, jobId, stepId);
    if (started.endedBeforeStart) throw new CliError(`container ${jobId}.${stepId} did not start: ${started.reason}`, ExitCode.Backend);
    const multiNode = (started.step?.nodes.length ?? 0) > 1;
    if (multiNode && (flags.tty || flags.interactive))
      process.stderr.write("Multiple nodes requested, auto-attach disabled: showing the output of every node.\n");
    const exitCode =
      flags.tty && !multiNode
        ? await runInTerminal(ctld, jobId, stepId, flags.interactive)
        : await runWithOutput(ctld, jobId, stepId, flags.interactive && !multiNode);
    if (exitCode !== 0) throw new CliError("", exitCode);
  }

  /** `ccon run busybox -p debug true`: refused before submitting, with the command line meant (see run-hint.ts). */
  private refuseMisplacedFlags(image: string, command: string[]): void {
    const specs = {
      topic: buildFlagSpec(CconRun.topicFlags as Record<string, FlagDefLike>),
      run: buildFlagSpec(CconRun.flags as Record<string, FlagDefLike>, CconRun.baseFlags as Record<string, FlagDefLike>),
    };
    const found = misplacedFlags(command, specs);
    if (!found) return;
    // this.argv is now [...run's flags, "--", IMAGE] (see CraneCommand.parse).
    const runFlags = this.argv.slice(0, Math.max(0, this.argv.indexOf("--")));
    const prefix = [...this.invocation.commandPath.split(" ").slice(0, -1), ...this.invocation.topicArgv];
    throw new CliError(misplacedFlagMessage(found, { prefix, runFlags, image, first: command[0]! }));
  }
}

/** `ccon run --json`: the container submitted. */
export interface RunJson {
  job_id: number;
  step_id: number;
  container: string;
}

/** A container whose command starts with "-" failed to find it: say where ccon's flags go. */
function withDashCommandNote(e: CliError, first: string): CliError {
  if (!isCommandNotFound(e.message, e.exitCode)) return e;
  return new CliError(e.message ? `${e.message}\n${dashCommandNote(first)}` : dashCommandNote(first), e.exitCode);
}

/**
 * -t: the container's terminal is attached here (with -i, what is typed goes to it). A container that ended before
 * the attach could be made still shows its whole output, from its log.
 */
async function runInTerminal(ctld: CtldConnection, jobId: number, stepId: number, stdin: boolean): Promise<number> {
  try {
    const end = await openContainerSession(ctld, { jobId, stepId, node: "", attach: true, command: [], stdin, tty: true, stdout: true, stderr: false });
    return await exitCodeAfterAttach(ctld, jobId, stepId, end);
  } catch (e) {
    if (!(e instanceof StepNotRunningError)) throw e;
    return runWithOutput(ctld, jobId, stepId, false);
  }
}

/**
 * Without a terminal the output comes from the container's log, which never loses a line; with -i, stdin goes to
 * the container through an attach session of its own, whose end (at the end of our input) closes the container's
 * stdin.
 */
async function runWithOutput(ctld: CtldConnection, jobId: number, stepId: number, stdin: boolean): Promise<number> {
  const output = followStep(ctld, { jobId, stepId, node: "", tail: -1 });
  if (stdin) {
    const input = openContainerSession(ctld, { jobId, stepId, node: "", attach: true, command: [], stdin: true, tty: false, stdout: false, stderr: false });
    await input.catch((e) => {
      if (!(e instanceof StepNotRunningError)) throw e;
    });
  }
  return containerExitCode(jobId, stepId, await output);
}
