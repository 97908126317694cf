// -d/--dependency and --begin, as Slurm spells them.
//   afterok:12:13,afterany:14    every condition (',')        after:12?afternotok:13   any condition ('?')
//   singleton                    no earlier job of the same user and name is active
//   --begin now+1h | now+90 (seconds) | 16:30[:00] (today, or tomorrow once past) | 2026-12-24[T08:00[:00]] (local)
import { DependencyKind, type JobDependency } from "../generated/crane/crane.js";
import { ParseError } from "./errors.js";

const KINDS: Record<string, DependencyKind> = {
  after: DependencyKind.DEP_AFTER,
  afterany: DependencyKind.DEP_AFTER_ANY,
  afterok: DependencyKind.DEP_AFTER_OK,
  afternotok: DependencyKind.DEP_AFTER_NOT_OK,
};

function dependencyError(s: string, why: string): ParseError {
  return new ParseError(`invalid dependency "${s}": ${why} (e.g. afterok:12:13, afterany:12,afterok:14, after:12?afternotok:13, singleton)`);
}

export function parseDependency(s: string): { dependencies: JobDependency[]; anyOf: boolean } {
  const text = s.trim();
  if (!text) throw dependencyError(s, "it is empty");
  if (text.includes(",") && text.includes("?")) throw dependencyError(s, "use either ',' (all of) or '?' (any of), not both");
  const anyOf = text.includes("?");
  const dependencies = text.split(anyOf ? "?" : ",").map((part): JobDependency => {
    if (part === "singleton") return { kind: DependencyKind.DEP_SINGLETON, jobIds: [] };
    const [name = "", ...ids] = part.split(":");
    const kind = KINDS[name.toLowerCase()];
    if (kind === undefined) throw dependencyError(s, `unknown kind "${name}" (known: ${[...Object.keys(KINDS), "singleton"].join(", ")})`);
    if (ids.length === 0) throw dependencyError(s, `${name} needs job ids (${name}:JOBID[:JOBID...])`);
    return {
      kind,
      jobIds: ids.map((id) => {
        if (!/^[1-9]\d{0,9}$/.test(id) || Number(id) > 0xffffffff) throw dependencyError(s, `"${id}" is not a job id`);
        return Number(id);
      }),
    };
  });
  return { dependencies, anyOf };
}

const KIND_NAMES = new Map(Object.entries(KINDS).map(([name, kind]) => [kind, name]));

/** The dependencies as -d spells them (`afterok:12:13,singleton`). */
export function formatDependency(dependencies: readonly JobDependency[], anyOf: boolean): string {
  return dependencies
    .map((d) => (d.kind === DependencyKind.DEP_SINGLETON ? "singleton" : [KIND_NAMES.get(d.kind) ?? "after", ...d.jobIds].join(":")))
    .join(anyOf ? "?" : ",");
}

const UNIT_SECONDS: Record<string, number> = {
  "": 1,
  s: 1,
  sec: 1,
  seconds: 1,
  m: 60,
  min: 60,
  minutes: 60,
  h: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
};

function beginError(s: string): ParseError {
  return new ParseError(`invalid begin time "${s}" (use now+30m, now+3600, 16:30, 2026-12-24 or 2026-12-24T08:00:00)`);
}

/** --begin as ms since the epoch; local time for the clock and date forms, as Slurm reads them. */
export function parseBeginTime(s: string, now: Date): number {
  const text = s.trim().toLowerCase();
  if (text === "now") return now.getTime();
  const relative = /^now\+(\d+)([a-z]*)$/.exec(text);
  if (relative) {
    const unit = UNIT_SECONDS[relative[2]!];
    if (unit === undefined) throw beginError(s);
    return now.getTime() + Number(relative[1]) * unit * 1000;
  }
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (clock) {
    const [h, m, sec] = [Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0)];
    if (h > 23 || m > 59 || sec > 59) throw beginError(s);
    const at = new Date(now);
    at.setHours(h, m, sec, 0);
    if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
    return at.getTime();
  }
  const date = /^(\d{4})-(\d{2})-(\d{2})(?:t(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (date) {
    const [y, mo, d, h, mi, sec] = date.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
    const at = new Date(y, mo - 1, d, h, mi, sec);
    if (at.getMonth() !== mo - 1 || at.getDate() !== d || h > 23 || mi > 59 || sec > 59) throw beginError(s);
    return at.getTime();
  }
  throw beginError(s);
}
