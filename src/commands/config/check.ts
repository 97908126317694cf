import { CraneCommand } from "../../core/cli/base";
import { CliError, ExitCode } from "../../core/cli/errors";
import { checkConfig, summarizeConfig } from "../../core/config-check";

export default class ConfigCheck extends CraneCommand {
  static override summary = "Check the configuration file as the daemons load it";
  static override description =
    "Lists every problem, each with the key at fault and what to write instead; an unknown key (a typo) is a problem here, " +
    "while the daemons only log it and ignore the key. Prints a summary of the cluster when the file is valid.\n" +
    "Exit status: 0 valid, 2 problems found (or the file cannot be read).";

  async run(): Promise<void> {
    const { flags } = await this.parse(ConfigCheck);
    const result = checkConfig(flags.config || undefined);
    const name = result.file || "the embedded default config (no file found)";
    if (result.config) {
      this.log(`${name}: OK`);
      for (const line of summarizeConfig(result.config)) this.log(`  ${line}`);
      return;
    }
    const count = result.problems.length;
    this.log(`${name}: ${count} problem${count === 1 ? "" : "s"}`);
    for (const p of result.problems) this.log(p.key ? `  ${p.key}: ${p.message}` : `  ${p.message}`);
    if (result.stoppedEarly) this.log("  (the check stopped here: fix this first, later problems may not be listed)");
    throw new CliError("", ExitCode.CmdArg);
  }
}
