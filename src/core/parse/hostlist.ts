import { ParseError } from "./errors.js";

/** Refuses host lists that would expand to an unreasonable number of names (usually a typo). */
const MAX_HOSTS = 1_000_000;

function hostlistError(s: string, why: string): ParseError {
  return new ParseError(`invalid hostlist "${s}": ${why} (use names such as cn01,gpu1 or ranges such as cn[01-03,07])`);
}

/** Splits on commas that are not inside brackets. */
function splitTopLevel(s: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of s) {
    if (ch === "[") depth++;
    if (ch === "]") depth--;
    if (depth < 0) throw hostlistError(s, "']' without a matching '['");
    if (depth > 1) throw hostlistError(s, "nested brackets are not supported");
    if (ch === "," && depth === 0) {
      items.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw hostlistError(s, "'[' without a matching ']'");
  items.push(current);
  return items.map((item) => item.trim());
}

/** Expands one bracket body such as `01-03,7`; the lower bound's width sets the zero padding. */
function expandRanges(body: string, s: string): string[] {
  const values: string[] = [];
  for (const part of body.split(",")) {
    const [, lowText, highText = lowText] = /^(\d+)(?:-(\d+))?$/.exec(part.trim()) ?? [];
    if (lowText === undefined) throw hostlistError(s, `bad range "${part}" (expected N or N-M)`);
    const low = Number(lowText);
    const high = Number(highText);
    if (low > high) throw hostlistError(s, `range "${part}" goes backwards`);
    if (high - low + values.length >= MAX_HOSTS) throw hostlistError(s, `more than ${MAX_HOSTS} hosts`);
    for (let n = low; n <= high; n++) values.push(String(n).padStart(lowText.length, "0"));
  }
  return values;
}

/** Expands one item such as `rack[1-2]-n[01-02]` into every combination, in order. */
function expandItem(item: string, s: string): string[] {
  let names = [""];
  for (const segment of item.split(/(\[[^\]]*\])/)) {
    const choices = segment.startsWith("[") ? expandRanges(segment.slice(1, -1), s) : [segment];
    if (names.length * choices.length > MAX_HOSTS) throw hostlistError(s, `more than ${MAX_HOSTS} hosts`);
    names = names.flatMap((prefix) => choices.map((choice) => prefix + choice));
  }
  return names;
}

/** Expands a host list such as `cn[01-03,7],gpu1` into `cn01 cn02 cn03 cn07 gpu1`. */
export function expandHostlist(s: string): string[] {
  const hosts: string[] = [];
  for (const item of splitTopLevel(s).filter((item) => item !== "")) {
    hosts.push(...expandItem(item, s));
    if (hosts.length > MAX_HOSTS) throw hostlistError(s, `more than ${MAX_HOSTS} hosts`);
  }
  return hosts;
}

interface NumberedName {
  prefix: string;
  digits: string;
}

/** Width of a zero-padded number, or 0 for a number written naturally (no leading zero). */
function paddedWidth(digits: string): number {
  return digits.length > 1 && digits.startsWith("0") ? digits.length : 0;
}

function formatRuns(numbers: number[], width: number): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const text = (n: number): string => String(n).padStart(width, "0");
  const runs: { low: number; high: number }[] = [];
  for (const n of sorted) {
    const last = runs.at(-1);
    if (last && n === last.high + 1) last.high = n;
    else runs.push({ low: n, high: n });
  }
  return runs.map(({ low, high }) => (low === high ? text(low) : `${text(low)}-${text(high)}`)).join(",");
}

/**
 * Groups numbered names of one prefix by padding width. A naturally written number whose
 * length equals a padded width in use (cn10 next to cn09) joins that padded group.
 */
function groupByWidth(names: NumberedName[]): Map<number, number[]> {
  const paddedWidths = new Set(names.map((n) => paddedWidth(n.digits)).filter((w) => w > 0));
  const groups = new Map<number, number[]>();
  for (const { digits } of names) {
    const padded = paddedWidth(digits);
    const width = padded > 0 ? padded : paddedWidths.has(digits.length) ? digits.length : 0;
    groups.set(width, [...(groups.get(width) ?? []), Number(digits)]);
  }
  return groups;
}

function compressPrefix(prefix: string, names: NumberedName[]): string[] {
  const out: string[] = [];
  for (const [width, numbers] of groupByWidth(names)) {
    const runs = formatRuns(numbers, width);
    out.push(/[-,]/.test(runs) ? `${prefix}[${runs}]` : prefix + runs);
  }
  return out;
}

/** Inverse of expandHostlist: `cn01 cn02 cn03 cn07` becomes `cn[01-03,07]`. Duplicates are dropped. */
export function compressHostlist(names: string[]): string {
  // Names keep their first-seen order; numbered names are grouped under their prefix.
  const order: (string | { prefix: string })[] = [];
  const byPrefix = new Map<string, NumberedName[]>();
  for (const name of new Set(names.map((n) => n.trim()))) {
    if (name === "" || /[[\],\s]/.test(name)) {
      throw new ParseError(`invalid host name "${name}": host names must be non-empty and contain no brackets, commas or spaces`);
    }
    const [, prefix, digits] = /^(.*?)(\d+)$/.exec(name) ?? [];
    if (prefix === undefined || digits === undefined) {
      order.push(name);
      continue;
    }
    if (!byPrefix.has(prefix)) {
      byPrefix.set(prefix, []);
      order.push({ prefix });
    }
    byPrefix.get(prefix)!.push({ prefix, digits });
  }
  return order.flatMap((entry) => (typeof entry === "string" ? [entry] : compressPrefix(entry.prefix, byPrefix.get(entry.prefix)!))).join(",");
}

const HOST_NAME = /^[A-Za-z0-9.-]+$/;

/**
 * Parses `--nodelist`/`--exclude` of a submission into host names, without duplicates.
 * `flag` names the option in the error, e.g. `--nodelist`.
 */
export function parseNodeNameList(s: string, flag: string): string[] {
  const flagName = flag.startsWith("-") ? flag : `--${flag}`;
  const formatError = (): ParseError =>
    new ParseError(`invalid format for ${flagName}: "${s}" (use comma-separated host names of letters, digits, '-' and '.', e.g. cn01,cn02 or cn[01-02])`);
  if (s.trim() === "") return [];
  // The reference rejects brackets here; they are expanded because users write `-w cn[1-2]`.
  let items: string[];
  let hosts: string[];
  try {
    items = splitTopLevel(s);
    hosts = items.flatMap((item) => expandItem(item, s));
  } catch (err) {
    if (err instanceof ParseError) throw new ParseError(`invalid format for ${flagName}: ${err.message}`);
    throw err;
  }
  if (items.includes("")) throw formatError();
  if (!hosts.every((host) => HOST_NAME.test(host))) throw formatError();
  return [...new Set(hosts)];
}
