import { Args } from "@oclif/core";
import { CraneCommand } from "../../core/cli/base";
import { CliError, ExitCode } from "../../core/cli/errors";
import type { CconJson } from "../../core/cli/json";
import { loadRegistry, matchingKeys, registryServerArg, saveRegistry, type RegistryLoginJson } from "../../core/cli/registry";

export default class CconLogout extends CraneCommand {
  static override summary = "Forget the saved credentials of a registry";
  static override args = { server: Args.string({ required: true, description: "Registry" }) };
  static override enableJsonFlag = true;

  async run(): Promise<CconJson<RegistryLoginJson>> {
    const { args } = await this.parse(CconLogout);
    const server = registryServerArg(args.server);
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
    this.log(`Logout Succeeded: ${server}`);
    return { action: "logout", data: { server } };
  }
}
