// Filter values shared by the query commands (cqueue, ccancel, cacct): comma lists and job states.
import { JobStatus } from "../generated/crane/crane";
import { CliError } from "./errors";

/** A comma list flag (`-u alice,bob`); an empty item is refused, naming the list. */
export function commaList(what: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  const items = value.split(",").map((s) => s.trim());
  if (items.some((s) => !s)) throw new CliError(`Invalid ${what} list specified: empty value.`);
  return items;
}

const STATE_NAMES: Record<string, JobStatus> = {
  pending: JobStatus.Pending,
  p: JobStatus.Pending,
  running: JobStatus.Running,
  r: JobStatus.Running,
  configuring: JobStatus.Configuring,
  starting: JobStatus.Starting,
  completing: JobStatus.Completing,
  completed: JobStatus.Completed,
  failed: JobStatus.Failed,
  cancelled: JobStatus.Cancelled,
  exceedtimelimit: JobStatus.ExceedTimeLimit,
  outofmemory: JobStatus.OutOfMemory,
};

export const FINISHED_STATES: ReadonlySet<JobStatus> = new Set([
  JobStatus.Completed,
  JobStatus.Failed,
  JobStatus.Cancelled,
  JobStatus.ExceedTimeLimit,
  JobStatus.OutOfMemory,
]);

/** `-t` of cqueue and ccancel: a comma list of state names; `all` (anywhere) means no filter (an empty list). */
export function parseStates(s: string): JobStatus[] {
  const out: JobStatus[] = [];
  for (const t of s.split(",").map((x) => x.trim().toLowerCase())) {
    if (t === "all") return [];
    const st = STATE_NAMES[t];
    if (st === undefined) throw new CliError(`unknown state: ${t} (known: ${Object.keys(STATE_NAMES).join(", ")}, all)`);
    out.push(st);
  }
  return out;
}
