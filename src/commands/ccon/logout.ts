import { Args, Flags } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { CliError, ExitCode } from "../../core/cli/errors";
import { loadRegistry, matchingKeys, saveRegistry } from "../../core/cli/registry";
import { serverArg } from "./login";

export default class CconLogout extends CraneCommand {
  static override summary = "Forget the saved credentials of a registry";
  static override args = { server: Args.string({ required: true, description: "Registry" }) };
  static override flags = { json: Flags.boolean({ description: "JSON output" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CconLogout);
    const server = serverArg(args.server);
    let data;
    try {
      data = loadRegistry();
    } catch (e) {
      throw new CliError(`failed to load registry config: ${(e as Error).message}`, ExitCode.System);
    }
    const keys = matchingKeys(data, server);
    if (keys.length === 0) throw new CliError(`no existing login for ${server}`);
    for (const k of keys) delete data.auths[k];
    saveRegistry(data);
    this.log(flags.json ? JSON.stringify({ action: "logout", data: { server } }) : `Logout Succeeded: ${server}`);
  }
}
