import { CraneCommand } from "../../core/cli/base";
import { configReference } from "../../core/config-reference";

export default class ConfigReference extends CraneCommand {
  static override summary = "Print the reference of every configuration key (Markdown, as docs/config.md)";

  async run(): Promise<void> {
    await this.parse(ConfigReference);
    process.stdout.write(configReference());
  }
}
