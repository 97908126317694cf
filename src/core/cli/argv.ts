// Token-level argv scanning shared by the dispatcher and CraneCommand.
//
// oclif only knows how to parse a whole argv. The dispatcher needs to look at argv *before* oclif does, to:
//   * find where a command's own flags end (first positional) for `stopAtFirstPositional` commands
//     (`ccon run -e A=1 busybox ls -la`: `-la` belongs to the container, not to us);
//   * spot `--help`/`-h`/`--version`/`-v` only in the flag part (never in a flag's value or after the image);
//   * walk topic-level flags placed between a topic and its subcommand (`ccon -p CPU run ...`).
// To do that it must know which flags take a value; that knowledge comes from the oclif flag definitions.

/** The subset of an oclif flag definition the scanner needs. */
export interface FlagDefLike {
  type: "boolean" | "option";
  char?: string | undefined;
  aliases?: string[] | undefined;
  charAliases?: (string | undefined)[] | undefined;
  allowNo?: boolean | undefined;
}

export interface FlagSpecEntry {
  /** Key of the flag in its flag map (oclif flag name). */
  name: string;
  takesValue: boolean;
}

export interface FlagSpec {
  long: Map<string, FlagSpecEntry>;
  short: Map<string, FlagSpecEntry>;
}

export function buildFlagSpec(...maps: (Record<string, FlagDefLike> | undefined)[]): FlagSpec {
  const spec: FlagSpec = { long: new Map(), short: new Map() };
  for (const flags of maps) {
    if (!flags) continue;
    for (const [name, def] of Object.entries(flags)) {
      const entry: FlagSpecEntry = { name, takesValue: def.type === "option" };
      const setLong = (n: string) => {
        if (!spec.long.has(n)) spec.long.set(n, entry);
      };
      const setShort = (c: string | undefined) => {
        if (c && !spec.short.has(c)) spec.short.set(c, entry);
      };
      setLong(name);
      for (const a of def.aliases ?? []) {
        if (a.length === 1) setShort(a);
        else setLong(a);
      }
      if (def.type === "boolean" && def.allowNo) setLong(`no-${name}`);
      setShort(def.char);
      for (const c of def.charAliases ?? []) setShort(c);
    }
  }
  return spec;
}

export type Token =
  | { kind: "flag"; name: string | undefined; raw: string[]; text: string }
  | { kind: "positional"; index: number; value: string }
  | { kind: "dashdash"; index: number };

function isNegativeNumber(s: string): boolean {
  return /^-\d/.test(s);
}

/**
 * Classify the token at `i`. Flags consume their value (`--name v`, `-n v`); combined short booleans (`-it`) are
 * one token; `-nVALUE` / `--name=VALUE` are one token. Unknown flags are assumed to be booleans (oclif will reject
 * them later with a proper message). Returns the token and the index after it.
 */
export function readToken(argv: readonly string[], i: number, spec: FlagSpec): { tok: Token; next: number } {
  const a = argv[i]!;
  if (a === "--") return { tok: { kind: "dashdash", index: i }, next: i + 1 };
  if (a.startsWith("--")) {
    const eq = a.indexOf("=");
    const longName = eq === -1 ? a.slice(2) : a.slice(2, eq);
    const entry = spec.long.get(longName);
    if (entry?.takesValue && eq === -1 && i + 1 < argv.length) {
      return { tok: { kind: "flag", name: entry.name, raw: [a, argv[i + 1]!], text: a }, next: i + 2 };
    }
    return { tok: { kind: "flag", name: entry?.name, raw: [a], text: a }, next: i + 1 };
  }
  if (a.startsWith("-") && a.length > 1) {
    if (isNegativeNumber(a) && !spec.short.has(a[1]!)) {
      return { tok: { kind: "positional", index: i, value: a }, next: i + 1 };
    }
    // Walk combined short flags: -it, -itp 80, -p80, -p=80.
    let first: string | undefined;
    for (let j = 1; j < a.length; j++) {
      const entry = spec.short.get(a[j]!);
      if (j === 1) first = entry?.name;
      if (entry?.takesValue) {
        if (j + 1 < a.length) break; // value attached: -p80 / -p=80
        if (i + 1 < argv.length) {
          return { tok: { kind: "flag", name: first, raw: [a, argv[i + 1]!], text: a }, next: i + 2 };
        }
        break;
      }
    }
    return { tok: { kind: "flag", name: first, raw: [a], text: a }, next: i + 1 };
  }
  return { tok: { kind: "positional", index: i, value: a }, next: i + 1 };
}

export interface SplitResult {
  /** Flag tokens before the first positional (a `--` that precedes it is dropped). */
  head: string[];
  /** The first positional, if any. */
  first: string | undefined;
  /** Everything after the first positional, verbatim. */
  tail: string[];
}

/** Split at the first positional argument (cobra's `SetInterspersed(false)` / docker-run semantics). */
export function splitAtFirstPositional(argv: readonly string[], spec: FlagSpec): SplitResult {
  const head: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const { tok, next } = readToken(argv, i, spec);
    if (tok.kind === "dashdash") {
      return { head, first: argv[next], tail: argv.slice(next + 1) };
    }
    if (tok.kind === "positional") {
      return { head, first: tok.value, tail: argv.slice(next) };
    }
    head.push(...tok.raw);
    i = next;
  }
  return { head, first: undefined, tail: [] };
}

/**
 * The part of argv where flags of the command itself may appear: up to the first positional for
 * stop-at-first-positional commands, else up to `--`.
 */
export function flagTokens(argv: readonly string[], spec: FlagSpec, stopAtFirstPositional: boolean): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < argv.length) {
    const { tok, next } = readToken(argv, i, spec);
    if (tok.kind === "dashdash") break;
    if (tok.kind === "positional" && stopAtFirstPositional) break;
    out.push(tok);
    i = next;
  }
  return out;
}

/**
 * `help` / `version` requests among a command's flag tokens. `--help`/`--version` always win; `-h`/`-v` only
 * when the command does not define those short flags itself (e.g. `ccon run -v HOST:CTR` is a volume).
 */
export function findMetaRequest(tokens: Token[], spec: FlagSpec): "help" | "version" | undefined {
  for (const t of tokens) {
    if (t.kind !== "flag" || t.raw.length !== 1) continue;
    if (t.text === "--help") return "help";
    if (t.text === "-h" && !spec.short.has("h")) return "help";
    if (t.text === "--version") return "version";
    if (t.text === "-v" && !spec.short.has("v")) return "version";
  }
  return undefined;
}
