import { Args, Flags } from "@oclif/core";
import fs from "node:fs";
import path from "node:path";
import { CraneCommand } from "../core/cli/base";
import { errMessage } from "../core/cli/ctld";
import { CliError, ExitCode } from "../core/cli/errors";
import {
  applyJobOptions,
  applyResourceOptions,
  baseJobSpec,
  buildPodMeta,
  exportedEnvironment,
  jobOnlyFlags,
  parsed,
  resourceFlags,
  type OptionMap,
} from "../core/cli/job-options";
import { submitJson, type SubmitJson } from "../core/cli/submit";
import { JobType } from "../core/generated/crane/crane";
import { ParseError, normaliseDirectiveName, parseArraySpec, parseBatchScript } from "../core/parse";

/** Directive names cbatch understands (long form, no dashes). */
const SUPPORTED = new Set([
  ...Object.keys(resourceFlags),
  ...Object.keys(jobOnlyFlags),
  "chdir",
  "parsable",
  "array",
  "output",
  "error",
  "input",
  "open-mode",
  "export",
  "get-user-env",
  "interpreter",
  "pod",
  "pod-name",
  "pod-port",
  "pod-user",
  "pod-userns",
  "pod-host-network",
  "pod-dns",
  "requeue",
  "no-requeue",
]);
const IGNORED = new Set([
  "deadline",
  "signal",
  "licenses",
  "reservation",
  "mail-type",
  "mail-user",
  "wckey",
  "extra-attr",
  "cpu-freq",
  "priority",
  "distribution",
  "sockets-per-node",
  "cores-per-socket",
  "threads-per-core",
  "ntasks-per-socket",
  "wait",
]);
const BOOLEAN = new Set([
  "exclusive",
  "hold",
  "kill-on-invalid-dep",
  "parsable",
  "get-user-env",
  "pod",
  "pod-userns",
  "pod-host-network",
  "requeue",
  "no-requeue",
]);

export default class Cbatch extends CraneCommand {
  static override summary = "Submit a batch script (or, with --pod, a container job whose script runs in a pod)";
  static override description = [
    "Options can also be given in the script as '#CBATCH --option value' lines (and '#SBATCH' lines for the options",
    "Crane shares with Slurm); options on the command line win. Values may be quoted and may then contain spaces.",
  ].join("\n");
  static override examples = [
    "<%= config.bin %> -N 2 -c 4 --mem 8G -t 1:00:00 job.sh",
    "<%= config.bin %> --wrap 'hostname'",
    "<%= config.bin %> --pod --pod-name train pipeline.sh",
  ];
  static override enableJsonFlag = true;
  static override args = { script: Args.string({ description: "Batch script" }) };
  static override flags = {
    ...resourceFlags,
    ...jobOnlyFlags,
    chdir: Flags.string({ char: "D", description: "Working directory of the job (default: the current directory)" }),
    output: Flags.string({ char: "o", description: "Output file pattern (%j job id, %x name, %u user, %N node, %%)" }),
    error: Flags.string({ char: "e", description: "Error file pattern (default: with the output)" }),
    input: Flags.string({ char: "i", description: "Input file (not yet supported: stdin is /dev/null)", hidden: true }),
    "open-mode": Flags.string({ description: "append or truncate the output files", options: ["append", "truncate"] }),
    export: Flags.string({ description: "Environment passed to the job: ALL (default), NONE, or NAME[=VALUE],..." }),
    "get-user-env": Flags.boolean({ description: "Load the user's login environment" }),
    wrap: Flags.string({ description: "Run this command line as the script" }),
    interpreter: Flags.string({ description: "Interpreter of the script (default: its #! line, else /bin/sh)" }),
    repeat: Flags.integer({ description: "Submit the same job N times", default: 1 }),
    array: Flags.string({ char: "a", description: "A job per task id: 1-100, 1,5,9, 0-30:3; %N runs at most N at once (CRANE_ARRAY_TASK_ID)" }),
    parsable: Flags.boolean({ description: "Print only the job id (one per line), for scripts: id=$(cbatch --parsable job.sh)" }),
    pod: Flags.boolean({ description: "Make this a container job: the script runs beside a pod that 'ccon run' steps join" }),
    "pod-name": Flags.string({ description: "Pod name, used for the containers' host name (default: the job name)" }),
    "pod-port": Flags.string({ description: "Publish a pod port: PORT or HOST:CONTAINER (repeatable)", multiple: true }),
    "pod-user": Flags.string({ description: "Run containers as UID[:GID]" }),
    "pod-userns": Flags.boolean({ description: "Run the pod in a user namespace (fake root)", allowNo: true }),
    "pod-host-network": Flags.boolean({ description: "Use the node's network instead of a pod network" }),
    "pod-dns": Flags.string({ description: "DNS servers of the pod (IPv4, comma list)" }),
  };

  async run(): Promise<SubmitJson> {
    const { flags, args } = await this.parse(Cbatch);
    if (flags.wrap !== undefined && args.script) throw new CliError("--wrap is exclusive with file name argument", ExitCode.Generic);
    if (flags.wrap === undefined && !args.script) throw new CliError("invalid number of arguments: give a script file, or --wrap 'command'", ExitCode.Generic);
    if (flags.repeat < 1) throw new CliError("--repeat should be greater than 0");

    let text: string;
    let defaultName: string;
    if (flags.wrap !== undefined) {
      text = `#!/bin/sh\n${flags.wrap}\n`;
      defaultName = "Wrap";
    } else {
      try {
        text = fs.readFileSync(args.script!, "utf8");
      } catch (e) {
        throw new CliError(`invalid argument: failed to parse script: ${(e as Error).message}`);
      }
      defaultName = path.basename(args.script!);
    }

    let script;
    try {
      script = parseBatchScript(text);
    } catch (e) {
      if (e instanceof ParseError) throw new CliError(`invalid argument: failed to parse script: ${e.message}`);
      throw e;
    }
    for (const w of script.warnings) this.logToStderr(w);

    const options: OptionMap = {};
    const podPorts: string[] = [];
    for (const d of script.directives) {
      const name = normaliseDirectiveName(d.name);
      if (IGNORED.has(name)) {
        this.logToStderr(`The feature --${name} is not yet supported by Crane, the use is ignored.`);
        continue;
      }
      if (!SUPPORTED.has(name)) throw new CliError(`invalid argument: unrecognized '${d.name}' in script (line ${d.line})`);
      if (name === "pod-port") podPorts.push(d.value);
      else options[name] = BOOLEAN.has(name) && d.value === "" ? "true" : d.value;
    }
    // Command-line flags override the script.
    for (const [k, v] of Object.entries(flags)) {
      if (v === undefined || k === "config" || k === "color" || k === "repeat" || k === "json" || k === "wrap") continue;
      if (k === "pod-port") podPorts.splice(0, podPorts.length, ...(v as string[]));
      else options[k] = String(v);
    }

    const isPod = options.pod === "true";
    const podOptionsUsed = Object.keys(options).some((k) => k.startsWith("pod-")) || podPorts.length > 0;
    if (podOptionsUsed && !isPod) throw new CliError("--pod must be set when using pod-related flags");

    const spec = baseJobSpec(isPod ? JobType.Container : JobType.Batch);
    spec.name = defaultName;
    applyResourceOptions(spec, options);
    applyJobOptions(spec, options);
    if (options.chdir) spec.cwd = path.resolve(options.chdir);
    spec.env = exportedEnvironment(options.export);
    spec.getUserEnv = options["get-user-env"] === "true";
    if (options.array) {
      if (flags.repeat > 1) throw new CliError("--array and --repeat cannot be combined");
      const { taskIds, maxRunning } = parsed("--array", () => parseArraySpec(options.array!));
      spec.arrayTaskIds = taskIds;
      spec.arrayMaxRunning = maxRunning;
    }
    spec.shScript = script.body;
    spec.interpreter = options.interpreter ?? script.interpreter ?? "";
    spec.io = {
      outputPattern: options.output ?? "",
      errorPattern: options.error ?? "",
      inputPattern: "",
      openModeAppend: options["open-mode"] === "append",
    };
    if (isPod) {
      spec.podMeta = buildPodMeta({
        name: options["pod-name"] ?? spec.name,
        ports: podPorts,
        user: options["pod-user"],
        userns: options["pod-userns"] !== undefined ? options["pod-userns"] === "true" : undefined,
        hostNetwork: options["pod-host-network"] === "true",
        dns: options["pod-dns"]?.split(",").filter(Boolean),
      });
    }

    const ctld = this.ctld;
    const r =
      flags.repeat > 1
        ? await ctld.call("submitBatchJobs", { job: spec, count: flags.repeat }, "Failed to submit jobs")
        : await ctld
            .call("submitBatchJob", { job: spec }, "Failed to submit the job")
            .then((one) => (one.ok ? { jobIds: [one.jobId], codes: [], reasons: [] } : { jobIds: [], codes: [one.code], reasons: [one.reason] }));
    if (r.jobIds.length) this.log(options.parsable === "true" ? r.jobIds.join("\n") : `Job id allocated: ${r.jobIds.join(", ")}.`);
    r.codes.forEach((c, i) => this.logToStderr(`Job allocation failed: ${errMessage(c, r.reasons[i])}.`));
    if (r.codes.length) this.failAfterOutput(new CliError("", ExitCode.Backend));
    return submitJson(r.jobIds, r.codes, r.reasons);
  }
}
