// `ccon run busybox -p debug true`: everything after the image is the container's command (as with docker), so a
// ccon flag written there is not one. When the command's first word is unmistakably one of ccon's flags, the run is
// refused before anything is submitted, with the command line the user meant; any other first word that starts
// with "-" is submitted as it is and, should the runtime not find it, the failure gets the same advice.
//
// Flags only: the first word must start with "-" (no program is called that), and --entrypoint turns the words
// into arguments of the given program, so then nothing is checked.
import { readToken, type FlagSpec } from "./argv";

/** docker's names for ccon's scheduling flags. */
const DOCKER_NAMES: Record<string, string> = { cpus: "cpus-per-task", memory: "mem", gpus: "gpus-per-node" };

/** Whether the flag a word names is a ccon flag: a scheduling flag (before `run`), a container flag (after it), or not. */
type Owner = "topic" | "run" | undefined;

function keyOf(word: string): { long: boolean; key: string } {
  if (word.startsWith("--")) {
    const eq = word.indexOf("=");
    return { long: true, key: eq === -1 ? word.slice(2) : word.slice(2, eq) };
  }
  return { long: false, key: word.slice(1, 2) };
}

function lookup(spec: FlagSpec, k: { long: boolean; key: string }) {
  return k.long ? spec.long.get(k.key) : spec.short.get(k.key);
}

/** `-p`, `-t` and `-w` are both: the value tells (`-p 8080:80` a port, `-t 1:00:00` a time limit, `-w /src` a directory). */
function ownerOfShared(key: string, next: string | undefined): Owner {
  const value = next ?? "";
  if (key === "p") return /^\d+(:\d+)?(\/\w+)?$/.test(value) ? "run" : "topic";
  if (key === "t") return /^[\d:-]+$/.test(value) ? "topic" : "run";
  if (key === "w") return value.startsWith("/") ? "run" : "topic";
  return "topic";
}

export interface MisplacedFlags {
  /** Scheduling flags (with their values) found after the image, in docker's spelling replaced by ccon's. */
  topic: string[];
  /** Container flags found after the image. */
  run: string[];
  /** What remains: the command the user meant. */
  rest: string[];
}

/** The ccon flags at the start of a container command, or undefined when its first word is not one. */
export function misplacedFlags(command: readonly string[], specs: { topic: FlagSpec; run: FlagSpec }): MisplacedFlags | undefined {
  const words = [...command];
  const out: MisplacedFlags = { topic: [], run: [], rest: [] };
  let i = 0;
  while (i < words.length) {
    let word = words[i]!;
    if (!word.startsWith("-") || word === "-" || word === "--") break;
    let k = keyOf(word);
    const renamed = k.long ? DOCKER_NAMES[k.key] : undefined;
    if (renamed) {
      word = words[i] = `--${renamed}${word.slice(2 + k.key.length)}`;
      k = keyOf(word);
    }
    const inTopic = lookup(specs.topic, k);
    const inRun = lookup(specs.run, k);
    const owner: Owner = inTopic && inRun ? ownerOfShared(k.key, words[i + 1]) : inTopic ? "topic" : inRun ? "run" : undefined;
    if (!owner) break;
    const { tok, next } = readToken(words, i, owner === "topic" ? specs.topic : specs.run);
    out[owner].push(...(tok.kind === "flag" ? tok.raw : [word]));
    i = next;
  }
  if (i === 0) return undefined;
  out.rest = words.slice(i);
  return out;
}

function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * The refusal for `<prefix> run <runFlags> IMAGE <command>` whose command starts with ccon flags, with the
 * command line meant; `prefix` is how ccon was typed (`ccon`, `crane ccon`) with the flags already before `run`.
 */
export function misplacedFlagMessage(found: MisplacedFlags, line: { prefix: string[]; runFlags: string[]; image: string; first: string }): string {
  const meant = [...line.prefix, ...found.topic, "run", ...line.runFlags, ...found.run, line.image, ...found.rest].map(shellWord).join(" ");
  return [
    `"${line.first}" comes after the image ${line.image}, so it would be the container's command, not a flag of ccon.`,
    "ccon's flags go before the image, as with docker: scheduling flags between 'ccon' and 'run', container flags between 'run' and the image:",
    `  ${meant}`,
    "(To run a program whose name starts with '-', give it with --entrypoint.)",
  ].join("\n");
}

/** The advice appended when a command whose first word starts with "-" could not be run. */
export function dashCommandNote(first: string): string {
  return `"${first}" after the image was taken as the container's command; ccon's flags go before the image, as with docker (see 'ccon run --help').`;
}

/** Whether a container's failure says that its command was not found or could not be executed. */
export function isCommandNotFound(reason: string, exitCode?: number): boolean {
  return exitCode === 127 || /executable file not found|no such file or directory|not found in \$PATH/i.test(reason);
}
