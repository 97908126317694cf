import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import {
  checkTransport,
  exitCodeAfterAttach,
  findRunningContainer,
  openContainerSession,
  sessionReply,
  transportFlag,
  type SessionReplyJson,
} from "../../core/cli/container-session";
import { resolveContainerArg, resolveTargetNode } from "../../core/cli/containers";
import { DETACH_HELP } from "../../core/cli/detach";
import { CliError, ExitCode } from "../../core/cli/errors";
import type { CconJson } from "../../core/cli/json";

export default class CconAttach extends CraneCommand {
  static override summary = "Attach this terminal to a running container's main process";
  static override description = [
    "Streams the container's output here and, when it was started with -i, what you type to it. stdin and tty",
    "default to what the container was started with (-i, -t). ccon exits with the container's exit code when it",
    "ends while attached.",
    "",
    DETACH_HELP,
  ].join("\n");
  static override examples = ["ccon attach 12.1", "ccon attach web", "ccon attach --no-stdin 12.1", "ccon attach -n node2 12.1"];
  static override args = { container: Args.string({ description: "JOBID.STEPID or the name given with 'ccon run --name'", required: true }) };
  /** --json: ctld's reply (with the session URL) instead of attaching. */
  static override enableJsonFlag = true;
  static override flags = {
    stdin: Flags.boolean({ description: "Send this terminal's input to the container (default: if started with -i)", allowNo: true }),
    stdout: Flags.boolean({ description: "Show the container's stdout", allowNo: true, default: true }),
    stderr: Flags.boolean({ description: "Show the container's stderr separately (not with a tty, which merges it)", allowNo: true }),
    tty: Flags.boolean({ description: "Attach as a terminal (default: if started with -t)", allowNo: true }),
    transport: transportFlag,
    "target-node": Flags.string({ char: "n", description: "Node of a multi-node container" }),
  };

  async run(): Promise<CconJson<SessionReplyJson> | undefined> {
    const { args, flags } = await this.parse(CconAttach);
    checkTransport(flags.transport);
    const ctld = this.ctld;
    const { jobId, stepId } = await resolveContainerArg(ctld, args.container, {
      running: true,
      step0Message: "step 0 is reserved for pods, please specify a container step ID",
    });
    const { step, meta } = await findRunningContainer(ctld, jobId, stepId, "attach to");
    const tty = flags.tty ?? meta.tty;
    if (tty && flags.stderr) throw new CliError("Cannot use --stderr with --tty; stderr is combined into stdout in TTY mode", ExitCode.CmdArg);
    const req = {
      jobId,
      stepId,
      node: resolveTargetNode(step, flags["target-node"]),
      attach: true,
      command: [],
      stdin: flags.stdin ?? meta.stdin,
      tty,
      stdout: flags.stdout,
      stderr: !tty && (flags.stderr ?? true),
    };
    if (this.jsonEnabled()) {
      const data = await sessionReply(ctld, req);
      if (!data.ok) this.failAfterOutput(new CliError("", ExitCode.Backend));
      return { action: "attach", data };
    }
    const end = await openContainerSession(ctld, req);
    const code = await exitCodeAfterAttach(ctld, jobId, stepId, end);
    if (code !== 0) throw new CliError("", code);
    return undefined;
  }
}
