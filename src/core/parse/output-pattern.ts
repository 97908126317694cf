import * as path from "node:path";

export interface OutputPatternContext {
  jobId: number;
  stepId: number;
  jobName: string;
  user: string;
  /** The node's host name; `%N` uses the part before the first dot. */
  nodeName: string;
  nodeIndex: number;
  taskId: number;
  arrayJobId?: number;
  arrayTaskId?: number;
}

/** Wider paddings are almost certainly typos; they are capped instead of building huge names. */
const MAX_WIDTH = 64;

/** `%a` for a job that is not part of an array. */
const NO_ARRAY_TASK = 4294967294;

type Field = { numeric: number } | { text: string };

function fieldFor(specifier: string, ctx: OutputPatternContext): Field | undefined {
  switch (specifier) {
    case "j":
      return { numeric: ctx.jobId };
    case "J":
      return { text: `${ctx.jobId}.${ctx.stepId}` };
    case "s":
      return { numeric: ctx.stepId };
    case "A":
      return { numeric: ctx.arrayJobId ?? ctx.jobId };
    case "a":
      return { numeric: ctx.arrayTaskId ?? NO_ARRAY_TASK };
    case "N":
      // split always returns at least one element.
      return { text: ctx.nodeName.split(".")[0]! };
    case "n":
      return { numeric: ctx.nodeIndex };
    case "t":
      return { numeric: ctx.taskId };
    case "u":
      return { text: ctx.user };
    case "x":
      return { text: ctx.jobName };
    default:
      return undefined;
  }
}

/**
 * Expands `%j`, `%5j`, `%x`, ... in an `--output`/`--error`/`--input` pattern. A width zero-pads
 * numeric fields only. Any backslash turns expansion off and the backslashes are dropped.
 * Unknown specifiers are kept as written.
 */
export function expandOutputPattern(pattern: string, ctx: OutputPatternContext): string {
  if (pattern.includes("\\")) return pattern.replaceAll("\\", "");
  return pattern.replace(/%(\d*)([^\d])/g, (whole, width: string, specifier: string) => {
    if (specifier === "%") return width === "" ? "%" : whole;
    const field = fieldFor(specifier, ctx);
    if (field === undefined) return whole;
    if ("text" in field) return field.text;
    return String(field.numeric).padStart(Math.min(Number(width || "0"), MAX_WIDTH), "0");
  });
}

/** Where stdout goes when no `--output` is given: `<cwd>/Crane-<jobid>.out`. */
/** `Crane-<job>.out`; an array task's is `Crane-<array>_<task>.out`, as Slurm's default names them. */
export function defaultOutputPath(cwd: string, ctx: Pick<OutputPatternContext, "jobId" | "arrayJobId" | "arrayTaskId">): string {
  const name = ctx.arrayJobId !== undefined && ctx.arrayTaskId !== undefined ? `${ctx.arrayJobId}_${ctx.arrayTaskId}` : String(ctx.jobId);
  return path.posix.join(cwd, `Crane-${name}.out`);
}

/**
 * Resolves an output pattern to a file path: expands it, makes it absolute against `cwd`, and
 * appends `Crane-<jobid>.out` when it names a directory (or ends with `/`).
 */
export function resolveOutputPath(pattern: string | undefined, cwd: string, ctx: OutputPatternContext, isDirectory: (p: string) => boolean): string {
  if (pattern === undefined || pattern === "") return defaultOutputPath(cwd, ctx);
  const expanded = expandOutputPattern(pattern, ctx);
  const absolute = path.posix.resolve(cwd, expanded);
  if (expanded.endsWith("/") || isDirectory(absolute)) return defaultOutputPath(absolute, ctx);
  return absolute;
}
