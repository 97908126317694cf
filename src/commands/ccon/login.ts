import { Args, Flags } from "@oclif/core";
import fs from "node:fs";
import readline from "node:readline/promises";
import { CraneCommand } from "../../core/cli/base";
import { CliError, ExitCode } from "../../core/cli/errors";
import type { CconJson } from "../../core/cli/json";
import { loadRegistry, matchingKeys, registryServerArg, saveRegistry, type RegistryLoginJson } from "../../core/cli/registry";

export default class CconLogin extends CraneCommand {
  static override summary = "Save credentials for a registry; they go only to the node that pulls an image";
  static override args = { server: Args.string({ required: true, description: "Registry, e.g. registry.example.org" }) };
  static override flags = {
    username: Flags.string({ char: "u", description: "User name" }),
    password: Flags.string({ char: "p", description: "Password (prefer --password-stdin)", exclusive: ["password-stdin"] }),
    "password-stdin": Flags.boolean({ description: "Read the password from stdin" }),
  };
  static override enableJsonFlag = true;

  async run(): Promise<CconJson<RegistryLoginJson>> {
    const { args, flags } = await this.parse(CconLogin);
    const server = registryServerArg(args.server);
    if (flags["password-stdin"] && !flags.username) throw new CliError("username is required with --password-stdin");
    let username = flags.username;
    let password = flags.password;
    if (!username || (!password && !flags["password-stdin"])) {
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
      if (!username) username = (await rl.question("Username: ")).trim().split(/\s+/)[0];
      if (!password && !flags["password-stdin"]) password = await rl.question("Password: ");
      rl.close();
    }
    if (flags["password-stdin"]) password = fs.readFileSync(0, "utf8").replace(/[\r\n]+$/, "");
    if (!username) throw new CliError("username is required");
    if (!password) throw new CliError("password is required");
    try {
      const data = loadRegistry();
      for (const k of matchingKeys(data, server)) delete data.auths[k];
      data.auths[server] = { auth: Buffer.from(`${username}:${password}`).toString("base64") };
      saveRegistry(data);
    } catch (e) {
      throw new CliError(`failed to save registry config: ${(e as Error).message}`, ExitCode.System);
    }
    this.log(`Login Succeeded: ${server}`);
    return { action: "login", data: { server, username } };
  }
}
