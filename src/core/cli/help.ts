// oclif help, writing through our IO and knowing about CraneCommand's topic flags.
import { format } from "node:util";
import { CommandHelp, Help } from "@oclif/core";
import type { Command, Interfaces } from "@oclif/core";

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

function safeWrite(stream: NodeJS.WriteStream, s: string): void {
  try {
    stream.write(s);
  } catch {
    // stdout/stderr is unusable (closed pipe, full disk): nothing sensible left to report to
  }
}

export const processIo: Io = {
  out: (s) => safeWrite(process.stdout, s),
  err: (s) => safeWrite(process.stderr, s),
};

type LooseFlag = Record<string, unknown> & { type?: string; default?: unknown };

class CraneCommandHelp extends CommandHelp {
  protected override sections(): ReturnType<CommandHelp["sections"]> {
    const sections = super.sections();
    const cmd = this.command as Command.Loadable & {
      topicFlags?: Record<string, LooseFlag>;
      topicFlagsHeader?: string;
      topicFlagsNote?: string;
      canonicalId?: string;
    };
    const tf = cmd.topicFlags;
    if (tf && Object.keys(tf).length > 0) {
      const list = Object.entries(tf)
        .filter(([, f]) => !f.hidden)
        .map(([name, f]) => {
          const flag: LooseFlag = { ...f, name };
          if (typeof flag.default === "function") delete flag.default;
          return flag as unknown as Command.Flag.Any;
        });
      const at = sections.findIndex((s) => s.header === "FLAGS");
      sections.splice(at === -1 ? sections.length : at + 1, 0, {
        header: cmd.topicFlagsHeader ?? "TOPIC FLAGS",
        generate: (): string | undefined => {
          const body = this.flags(list);
          if (!body) return undefined;
          const table = this.renderList(body, { indentation: 2, stripAnsi: this.opts.stripAnsi });
          const note = cmd.topicFlagsNote;
          return note ? `${table}\n\n${this.wrap(note)}` : table;
        },
      });
    }
    return sections;
  }

  override generate(): string {
    const text = super.generate();
    // A single-command view (`cbatch --help`) has an empty id: "$ cbatch  SCRIPT" -> "$ cbatch SCRIPT".
    if (this.command.id) return text;
    const bin = this.config.bin.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return text.replace(new RegExp(`(\\$ ${bin}) {2,}`, "g"), "$1 ");
  }
}

export class CraneHelp extends Help {
  private readonly io: Io;

  constructor(config: Interfaces.Config, opts: Partial<Interfaces.HelpOptions> & { io?: Io } = {}) {
    super(config, { stripAnsi: !process.stdout.isTTY, ...opts });
    this.io = opts.io ?? processIo;
    this.CommandHelpClass = CraneCommandHelp;
  }

  protected override log(...args: string[]): void {
    this.io.out(format(...args) + "\n");
  }
}
