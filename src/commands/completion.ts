import { Args } from "@oclif/core";
import { CraneCommand } from "../core/cli/base";
import { COMPLETION_SHELLS, completionScript } from "../core/cli/completion";
import { BUNDLED_MANIFEST, manifestOf, type Manifest } from "../core/cli/resolve";

export default class Completion extends CraneCommand {
  static override summary = "Print the shell completion script of crane and its commands (bash or zsh)";
  static override description =
    "bash: crane completion bash > /etc/bash_completion.d/crane\n" +
    'zsh:  crane completion zsh > "${fpath[1]}/_crane" (or: source <(crane completion zsh) after compinit)';
  static override args = { shell: Args.string({ required: true, options: [...COMPLETION_SHELLS], description: "Shell" }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Completion);
    process.stdout.write(completionScript(args.shell as (typeof COMPLETION_SHELLS)[number], await commandManifest()));
  }
}

/** The built executable carries the manifest; from source it is made from the registry (a lazy import: it imports this file). */
async function commandManifest(): Promise<Manifest> {
  if (BUNDLED_MANIFEST) return BUNDLED_MANIFEST;
  const { commands } = await import("./index.js");
  return manifestOf(commands);
}
