import { ParseError } from "./errors.js";

const COUNT = /^\d+$/;
const NAME = /^[A-Za-z0-9_.-]+$/;

function splitList(s: string): string[] {
  return s
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function addCount(result: Record<string, number>, key: string, count: number, item: string): void {
  if (key in result) {
    throw new ParseError(`Error parsing gres: ${item} (${key} is listed twice; give each name:type once)`);
  }
  if (count > 0) result[key] = count;
}

/**
 * Parses `--gres` (`gpu:2`, `gpu:a100:2,nic:1`) into counts keyed by `name` or `name:type`.
 * Entries with a count of 0 are left out.
 */
export function parseGres(s: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const item of splitList(s)) {
    const parts = item.split(":");
    const countText = parts[parts.length - 1];
    if (countText === undefined || parts.length < 2 || parts.length > 3 || !parts.slice(0, -1).every((p) => NAME.test(p))) {
      throw new ParseError(`Error parsing gres: ${item} (use name:count or name:type:count, e.g. gpu:2 or gpu:a100:2)`);
    }
    const name = parts[0];
    if (!COUNT.test(countText) || !Number.isSafeInteger(Number(countText))) {
      const message =
        parts.length === 2
          ? `error parsing gres count: ${item} (the count must be a whole number, e.g. ${name}:2)`
          : `Error parsing count for ${name}: "${countText}" is not a whole number (e.g. ${name}:${parts[1]}:2)`;
      throw new ParseError(message);
    }
    addCount(result, parts.slice(0, -1).join(":"), Number(countText), item);
  }
  return result;
}

function gpusPerNodeError(s: string, why: string): ParseError {
  return new ParseError(`invalid --gpus-per-node "${s}": ${why} (use N or type:N[,type:N...] with N > 0, e.g. 2 or a100:2)`);
}

function positiveCount(text: string, s: string): number {
  const n = Number(text);
  if (!COUNT.test(text) || !Number.isSafeInteger(n) || n === 0) {
    throw gpusPerNodeError(s, `"${text}" is not a positive whole number`);
  }
  return n;
}

/** Parses `--gpus-per-node`: `N` gives `{gpu: N}`, `type:N,...` gives `{"gpu:type": N, ...}`. */
export function parseGpusPerNode(s: string): Record<string, number> {
  const items = splitList(s);
  const [first, ...others] = items;
  if (first === undefined) throw gpusPerNodeError(s, "no GPU count given");
  if (others.length === 0 && !first.includes(":")) {
    return { gpu: positiveCount(first, s) };
  }
  const result: Record<string, number> = {};
  for (const item of items) {
    const [type, count, ...extra] = item.split(":");
    if (type === undefined || count === undefined || extra.length > 0) {
      throw gpusPerNodeError(s, `"${item}" mixes a plain count with typed counts or is malformed`);
    }
    if (!NAME.test(type)) throw gpusPerNodeError(s, `"${type}" is not a valid GPU type`);
    const key = `gpu:${type}`;
    if (key in result) throw gpusPerNodeError(s, `type ${type} is listed twice`);
    result[key] = positiveCount(count, s);
  }
  return result;
}

/** Formats a gres map back to `name[:type]:count,...`, sorted by key. */
export function formatGres(map: Record<string, number>): string {
  return Object.keys(map)
    .sort()
    .map((key) => `${key}:${map[key]}`)
    .join(",");
}
