import { ParseError } from "./errors.js";

export type DirectiveSource = "CBATCH" | "SBATCH";

export interface ScriptDirective {
  /** Long option name without dashes, e.g. `nodes` for `-N` or `--nodes`. */
  name: string;
  value: string;
  /** 1-based line number in the script. */
  line: number;
  source: DirectiveSource;
}

export interface ParsedBatchScript {
  /** From a `#!` first line; that line stays in the body. */
  interpreter?: string;
  directives: ScriptDirective[];
  /** The script without its `#CBATCH`/`#SBATCH` lines. */
  body: string;
  warnings: string[];
}

const SHORT_TO_LONG: Record<string, string> = {
  N: "nodes",
  c: "cpus-per-task",
  J: "job-name",
  p: "partition",
  t: "time",
  o: "output",
  e: "error",
  n: "ntasks",
  w: "nodelist",
  x: "exclude",
  A: "account",
  Q: "qos",
  q: "qos",
  D: "chdir",
  H: "hold",
  a: "array",
  d: "dependency",
  b: "begin",
  L: "licenses",
  r: "reservation",
  s: "signal",
  i: "input",
};

/**
 * Maps an option as written in a script to its long name without dashes:
 * `-N` and `--nodes` both give `nodes`. An unknown short option is returned unchanged (`-Z`).
 */
export function normaliseDirectiveName(name: string): string {
  if (name.startsWith("--")) return name.slice(2);
  if (/^-[A-Za-z]$/.test(name)) return SHORT_TO_LONG[name.slice(1)] ?? name;
  return name;
}

/** Options that mean `true` when written bare, e.g. `#CBATCH --exclusive`. */
const BOOLEAN_OPTIONS = new Set(["exclusive", "hold", "get-user-env", "requeue", "no-requeue", "pod", "pod-userns", "pod-host-network"]);

/** The Slurm options cbatch understands in `#SBATCH` lines (by long name). */
const SLURM_SUPPORTED = new Set([
  "cpus-per-task",
  "job-name",
  "nodes",
  "qos",
  "account",
  "error",
  "exclude",
  "chdir",
  "export",
  "mem",
  "partition",
  "input",
  "output",
  "nodelist",
  "get-user-env",
  "time",
  "ntasks-per-node",
  "ntasks",
  "mail-type",
  "mail-user",
  "comment",
  "open-mode",
  "reservation",
  "wrap",
  "gres",
  "exclusive",
  "begin",
  "deadline",
  "array",
]);

function isSupportedSlurmOption(option: string): boolean {
  // In Slurm `-Q` means --quiet, not --qos as in #CBATCH.
  return option !== "-Q" && SLURM_SUPPORTED.has(normaliseDirectiveName(option));
}

function lineError(line: number, what: string): ParseError {
  return new ParseError(`Parsing error at line ${line}: ${what}`);
}

/**
 * Splits a directive into words like a shell would: quotes group words and are removed,
 * and a `#` at the start of a word begins a comment.
 */
function tokenize(text: string, line: number): string[] {
  const tokens: string[] = [];
  let current: string | undefined;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      current ??= "";
    } else if (/\s/.test(ch)) {
      if (current !== undefined) tokens.push(current);
      current = undefined;
    } else if (ch === "#" && current === undefined) {
      break;
    } else {
      current = (current ?? "") + ch;
    }
  }
  if (quote !== undefined) throw lineError(line, `missing closing ${quote} quote`);
  if (current !== undefined) tokens.push(current);
  return tokens;
}

interface OptionWord {
  option: string;
  inlineValue?: string;
}

/** Splits the first word into the option and a value written in the same word (`--time=1:00`, `-N2`). */
function splitOptionWord(word: string, line: number): OptionWord {
  const [, longOption, longValue] = /^(--[A-Za-z][A-Za-z0-9-]*)(?:=(.*))?$/s.exec(word) ?? [];
  if (longOption !== undefined) return { option: longOption, inlineValue: longValue };
  const [, shortOption, shortValue] = /^(-[A-Za-z])(?:=?(.+))?$/s.exec(word) ?? [];
  if (shortOption !== undefined) return { option: shortOption, inlineValue: shortValue };
  throw lineError(line, `"${word}" is not an option; write directives as "--name value", "--name=value" or "-X value"`);
}

function directiveValue(name: string, word: OptionWord, rest: string[], line: number): string {
  if (rest.length > 1 || (rest.length === 1 && word.inlineValue !== undefined)) {
    throw lineError(line, `fields out of bound; give one option and one value, and quote values that contain spaces`);
  }
  const value = rest[0] ?? word.inlineValue;
  if (value !== undefined) return value;
  // The reference needs `--exclusive true`; a bare boolean option means true here.
  return BOOLEAN_OPTIONS.has(name) ? "true" : "";
}

const DIRECTIVE_PREFIX = /^#(CBATCH|SBATCH)(?=\s|$)/;

/**
 * Parses `#CBATCH` and supported `#SBATCH` directives anywhere in a batch script.
 * Unsupported Slurm options become warnings; a malformed directive throws `Parsing error at line N: ...`.
 */
export function parseBatchScript(text: string): ParsedBatchScript {
  const result: ParsedBatchScript = { directives: [], body: "", warnings: [] };
  const bodyLines: string[] = [];
  const lines = text.split("\n");
  lines.forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, "");
    const lineNumber = index + 1;
    if (index === 0 && line.startsWith("#!")) {
      const interpreter = line.slice(2).trim();
      if (interpreter !== "") result.interpreter = interpreter;
    }
    const prefix = DIRECTIVE_PREFIX.exec(line);
    if (!prefix) {
      bodyLines.push(rawLine);
      return;
    }
    const source = prefix[1] as DirectiveSource;
    const [first, ...rest] = tokenize(line.slice(prefix[0].length), lineNumber);
    if (first === undefined) throw lineError(lineNumber, `no option after #${source}; write e.g. "#${source} --nodes 2"`);
    const word = splitOptionWord(first, lineNumber);
    if (source === "SBATCH" && !isSupportedSlurmOption(word.option)) {
      result.warnings.push(`Slurm option ${word.option} is not supported (line ${lineNumber} ignored)`);
      return;
    }
    const name = normaliseDirectiveName(word.option);
    result.directives.push({ name, value: directiveValue(name, word, rest, lineNumber), line: lineNumber, source });
  });
  result.body = bodyLines.join("\n");
  return result;
}
