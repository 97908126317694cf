// --array: task ids as Slurm spells them. `1-100`, `1,5,9`, `0-30:3` (a step), any of them joined by commas, and
// `%N` at the end: at most N tasks running at once.
import { ParseError } from "./errors.js";

/** More task ids than any submission may hold: refused here, before the list is built. */
export const MAX_ARRAY_TASKS = 100_000;

function arrayError(s: string, why: string): ParseError {
  return new ParseError(`invalid --array "${s}": ${why} (e.g. 1-100, 1,5,9, 0-30:3, 1-100%10)`);
}

export function parseArraySpec(s: string): { taskIds: number[]; maxRunning: number } {
  const text = s.trim();
  const [list = "", limit, extra] = text.split("%");
  if (extra !== undefined) throw arrayError(s, "only one %");
  let maxRunning = 0;
  if (limit !== undefined) {
    if (!/^[1-9]\d{0,6}$/.test(limit)) throw arrayError(s, `"%${limit}" must be a number of tasks >= 1`);
    maxRunning = Number(limit);
  }
  if (!list) throw arrayError(s, "no task ids");
  const ids = new Set<number>();
  for (const part of list.split(",")) {
    const m = /^(\d{1,9})(?:-(\d{1,9})(?::(\d{1,9}))?)?$/.exec(part);
    if (!m) throw arrayError(s, `"${part}" is not N, N-M or N-M:STEP`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (to < from) throw arrayError(s, `${from}-${to} runs backwards`);
    if (step < 1) throw arrayError(s, "a step must be >= 1");
    if (ids.size + Math.floor((to - from) / step) + 1 > MAX_ARRAY_TASKS) throw arrayError(s, `more than ${MAX_ARRAY_TASKS} tasks`);
    for (let i = from; i <= to; i += step) ids.add(i);
  }
  return { taskIds: [...ids].sort((a, b) => a - b), maxRunning };
}
