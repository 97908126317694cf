// docs/config.md, printed from the schema by `crane config reference` (a unit test keeps the file in step).
import { CONFIG_SCHEMA, type ConfigKey, type ConfigSchema } from "./config-schema";

const INTRO = `# Configuration reference

One YAML file configures every role (ctld, craned, the supervisor and the user commands). Commands and daemons read
\`-C FILE\`, else \`$CRANE_CONFIG\`, else \`/etc/crane/config.yaml\`, else the config \`crane up\` wrote; with none, an
embedded default describes a one-node cluster of this machine. \`crane config check [-C FILE]\` loads it as the
daemons do and lists every problem with the key at fault (exit 0 when valid, 2 otherwise). A key not listed here is
an error for \`config check\` and a logged warning for the daemons, which then ignore it.

Sizes of memory take K, M, G or T (1024-based; no unit means MiB); other sizes count bytes unless a unit is given.
Host lists name several hosts at once: \`cn[01-04]\`, \`gpu[1,3-5]\`.

Generated from \`src/core/config-schema.ts\` by \`crane config reference\`: edit the schema, not this file.
`;

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function defaultOf(k: ConfigKey): string {
  if (k.required) return "required";
  if (k.defaultText) return cell(k.defaultText);
  if (k.default === undefined) return "";
  if (Array.isArray(k.default)) return k.default.length ? `\`${JSON.stringify(k.default)}\`` : "none";
  return k.default === "" ? '`""`' : `\`${String(k.default)}\``;
}

function table(schema: ConfigSchema, prefix: string): string[] {
  const rows = Object.entries(schema).filter(([, e]) => e.kind === "key") as [string, ConfigKey][];
  if (!rows.length) return [];
  return [
    "| Key | Type | Default | Meaning |",
    "|---|---|---|---|",
    ...rows.map(([name, k]) => `| \`${prefix}${name}\` | ${cell(k.type)} | ${defaultOf(k)} | ${cell(k.doc)} |`),
    "",
  ];
}

function sections(schema: ConfigSchema, prefix: string, level: number): string[] {
  return Object.entries(schema).flatMap(([name, e]) => {
    if (e.kind === "key") return [];
    const path = e.kind === "list" ? `${prefix}${name}[]` : `${prefix}${name}`;
    const keys = e.kind === "list" ? e.item : e.keys;
    const absent = e.kind === "list" && e.defaultText ? ` Absent: ${e.defaultText}.` : "";
    return [`${"#".repeat(level)} ${path}`, "", `${e.doc}${absent}`, "", ...table(keys, `${path}.`), ...sections(keys, `${path}.`, level + 1)];
  });
}

export function configReference(): string {
  const lines = [INTRO, "## Top level", "", ...table(CONFIG_SCHEMA, ""), ...sections(CONFIG_SCHEMA, "", 2)];
  return `${lines.join("\n").trimEnd()}\n`;
}
