import { Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import {
  checkTransport,
  findRunningContainer,
  openContainerSession,
  printDetached,
  sessionReply,
  streamLost,
  transportFlag,
  type SessionReplyJson,
} from "../../core/cli/container-session";
import { resolveContainerArg, resolveTargetNode } from "../../core/cli/containers";
import { DETACH_HELP } from "../../core/cli/detach";
import { CliError, ExitCode } from "../../core/cli/errors";
import type { CconJson } from "../../core/cli/json";

export default class CconExec extends CraneCommand {
  static override summary = "Run a command in a running container";
  static override description = [
    "Flags go before the container id; everything after it is the command. ccon exits with the command's exit code.",
    "With -i and without -t on a runtime that speaks channel protocol v4 (containerd 1.6), the end of piped input",
    "also ends the session: the runtime cannot be told that stdin alone closed.",
    "",
    DETACH_HELP,
  ].join("\n");
  static override examples = ["ccon exec 12.1 ls /", "ccon exec -it web sh", "ccon exec -n node2 12.1 hostname"];
  /** --json: ctld's reply (with the session URL) instead of running. */
  static override enableJsonFlag = true;
  static override stopAtFirstPositional = true;
  static override strict = false;
  static override flags = {
    interactive: Flags.boolean({ char: "i", description: "Send this terminal's input to the command" }),
    tty: Flags.boolean({ char: "t", description: "Run the command in a terminal" }),
    transport: transportFlag,
    "target-node": Flags.string({ char: "n", description: "Node of a multi-node container" }),
  };

  async run(): Promise<CconJson<SessionReplyJson> | undefined> {
    const { argv, flags } = await this.parse(CconExec);
    checkTransport(flags.transport);
    const [container, ...command] = argv as string[];
    if (!container || command.length === 0) throw new CliError("exec requires at least two arguments: CONTAINER (JOBID.STEPID or name) COMMAND [ARG...]");
    const ctld = this.ctld;
    const { jobId, stepId } = await resolveContainerArg(ctld, container, {
      running: true,
      step0Message: "step 0 is reserved for pods, please specify a container step ID",
    });
    const { step } = await findRunningContainer(ctld, jobId, stepId, "exec into");
    const req = {
      jobId,
      stepId,
      node: resolveTargetNode(step, flags["target-node"]),
      attach: false,
      command,
      stdin: flags.interactive,
      tty: flags.tty,
      stdout: true,
      stderr: !flags.tty,
    };
    if (this.jsonEnabled()) {
      const data = await sessionReply(ctld, req);
      if (!data.ok) this.failAfterOutput(new CliError("", ExitCode.Backend));
      return { action: "exec", data };
    }
    const end = await openContainerSession(ctld, req);
    if (end.detached) {
      printDetached(jobId, stepId);
      return undefined;
    }
    if (end.failure) {
      // The command could not start: exit like a shell does (127 not found, 126 not runnable).
      if (/OCI runtime exec failed|exec failed/.test(end.failure)) {
        throw new CliError(`Exec failed: ${end.failure.replace(/^.*OCI runtime exec failed: /, "")}`, /not found|no such file/i.test(end.failure) ? 127 : 126);
      }
      throw new CliError(streamLost(end.failure), ExitCode.Backend);
    }
    if (end.exitCode) throw new CliError("", end.exitCode < 256 ? end.exitCode : ExitCode.Backend);
    return undefined;
  }
}
