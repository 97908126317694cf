// How long a simulated step "runs": a simulated node starts no process, so the step's own command says it. A
// script or command that begins with `sleep N` runs N (as GNU sleep reads it: seconds, or with an s/m/h/d suffix,
// several arguments adding up); anything else ends at once. `sleep infinity` and a pod (step 0) run until ctld
// frees the job or terminates the step.
import type { StepToD } from "../../core/generated/crane/crane";
import { DAEMON_STEP_ID } from "../../core/node/layout";

const UNIT_SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Milliseconds the step runs on a simulated node; undefined: until it is stopped. */
export function simulatedRunMs(step: Pick<StepToD, "stepId" | "shScript" | "argv" | "containerMeta">): number | undefined {
  if (step.stepId === DAEMON_STEP_ID) return undefined;
  const words = step.shScript ? firstCommand(step.shScript) : commandOf(step);
  const cmd = words[0] === "exec" ? words.slice(1) : words;
  if (!cmd[0] || cmd[0].replace(/^.*\//, "") !== "sleep") return 0;
  let seconds = 0;
  for (const word of cmd.slice(1)) {
    const end = word.search(/[;&|]/); // the end of the sleep command (`sleep 1; hostname`, `sleep 1 && ...`)
    const arg = end < 0 ? word : word.slice(0, end);
    if (arg) {
      const d = parseSleepArg(arg);
      if (d === undefined) return 0; // sleep would refuse it: the command fails at once
      seconds += d;
    }
    if (end >= 0) break;
  }
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined;
}

/** The words of a script's first command line (comments, the #! line and #CBATCH directives skipped). */
function firstCommand(script: string): string[] {
  for (const line of script.split("\n")) {
    const text = line.trim();
    if (text && !text.startsWith("#")) return text.split(/\s+/);
  }
  return [];
}

/** An interactive or container step's command, as the words it runs. */
function commandOf(step: Pick<StepToD, "argv" | "containerMeta">): string[] {
  const c = step.containerMeta;
  return c && (c.command.length || c.args.length) ? [...c.command, ...c.args] : step.argv;
}

function parseSleepArg(arg: string): number | undefined {
  if (arg === "inf" || arg === "infinity") return Infinity;
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : undefined;
}
