// Flags shared by `crane top` and `ccon top`, and their translation into the view's options.
import { Flags } from "@oclif/core";
import type { JobType } from "../generated/crane/crane";
import { currentUsername } from "../identity";
import { colorEnabled } from "./color";
import type { CtldConnection } from "./ctld";
import { CliError } from "./errors";

const STATES = ["active", "pending", "running", "ended", "all"] as const;
const SORTS = ["id", "name", "user", "partition", "state", "time"] as const;

export const topFlags = {
  mine: Flags.boolean({ char: "m", description: "Start with only my jobs (key m toggles)" }),
  user: Flags.string({ char: "u", description: "Whose jobs 'mine' means (default: you)" }),
  state: Flags.string({ char: "t", description: `Jobs in these states: ${STATES.join("|")} (key f cycles)`, default: "active" }),
  partition: Flags.string({ char: "p", description: "Only jobs of this partition" }),
  sort: Flags.string({ description: `Sort by ${SORTS.join("|")} (key o cycles, r reverses)`, default: "id" }),
  nodes: Flags.boolean({ description: "Start with the nodes view" }),
  once: Flags.boolean({ description: "Print one snapshot and exit (what happens anyway without a terminal)" }),
  interval: Flags.integer({ description: "How long ctld coalesces changes before sending them, ms (default 200)", default: 0 }),
};

export interface TopFlagValues {
  mine: boolean;
  user?: string;
  state: string;
  partition?: string;
  sort: string;
  nodes: boolean;
  once: boolean;
  interval: number;
}

export function topOptions(f: TopFlagValues, extra: { types?: JobType[]; title: string }) {
  if (!(STATES as readonly string[]).includes(f.state)) throw new CliError(`invalid --state '${f.state}' (known: ${STATES.join(", ")})`);
  if (!(SORTS as readonly string[]).includes(f.sort)) throw new CliError(`invalid --sort '${f.sort}' (known: ${SORTS.join(", ")})`);
  if (f.interval < 0) throw new CliError("--interval must be >= 0");
  return {
    me: f.user ?? currentUsername(),
    all: !f.mine,
    state: f.state as (typeof STATES)[number],
    sort: f.sort as (typeof SORTS)[number],
    partition: f.partition,
    screen: f.nodes ? ("nodes" as const) : ("jobs" as const),
    once: f.once,
    intervalMs: f.interval,
    types: extra.types,
    title: extra.title,
  };
}

/**
 * Opens the live view (loaded only now: Ink and React stay out of every other command's start-up), coloured per
 * `--color`/`--no-color` (`colorFlag`), NO_COLOR and FORCE_COLOR.
 */
export async function runTopView(ctld: CtldConnection, options: ReturnType<typeof topOptions>, colorFlag: boolean | undefined): Promise<void> {
  const { runTop } = await import("../../ui/top/run.js");
  await runTop(ctld, { ...options, color: colorEnabled({ flag: colorFlag, stream: process.stdout }) });
}
