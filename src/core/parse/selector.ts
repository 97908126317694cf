import { ParseError } from "./errors.js";

const MAX_U32 = 0xffff_ffff;

export interface JobStepSelector {
  jobId: number;
  /** Present for `jobid_task` selectors of array jobs. */
  arrayTaskId?: number;
  stepId?: number;
}

export interface SelectorOptions {
  /** Accept `.0` (the pod/primary step); cqueue and ccancel reject it. */
  allowStepZero?: boolean;
}

const SELECTOR = /^([^_.]*)(?:_([^_.]*))?(?:\.([^_.]*))?$/;

function parseU32(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_U32 ? n : undefined;
}

function parseSelector(token: string, options: SelectorOptions): JobStepSelector {
  const [, jobText, taskText, stepText] = SELECTOR.exec(token) ?? [];
  if (jobText === undefined || token === "") {
    throw new ParseError(`invalid selector "${token}": use JOBID, JOBID_TASK or JOBID.STEP, e.g. 12, 12_3 or 12.1`);
  }
  const jobId = parseU32(jobText);
  if (jobId === undefined || jobId < 1) {
    throw new ParseError(`invalid job id "${token}": the job id must be a whole number from 1 to ${MAX_U32}`);
  }
  const selector: JobStepSelector = { jobId };
  if (taskText !== undefined) {
    const arrayTaskId = parseU32(taskText);
    if (arrayTaskId === undefined) {
      throw new ParseError(`invalid selector "${token}": the array task after '_' must be a whole number, e.g. 12_3`);
    }
    selector.arrayTaskId = arrayTaskId;
  }
  if (stepText !== undefined) {
    const stepId = parseU32(stepText);
    const minimum = options.allowStepZero ? 0 : 1;
    if (stepId === undefined || stepId < minimum) {
      throw new ParseError(`invalid step id "${token}": the step id must be a whole number from ${minimum} to ${MAX_U32}`);
    }
    selector.stepId = stepId;
  }
  return selector;
}

/** Parses a comma list of `jobid[_task][.step]` selectors (cqueue -j/-s, ccancel). An empty string gives []. */
export function parseJobStepSelectors(s: string, options: SelectorOptions = {}): JobStepSelector[] {
  if (s.trim() === "") return [];
  return s.split(",").map((token) => parseSelector(token.trim(), options));
}

export interface ContainerId {
  jobId: number;
  stepId: number;
}

/** Parses a strict `JOBID.STEPID` container id (ccon attach/exec/logs/inspect/stop). */
export function parseContainerId(s: string): ContainerId {
  const [jobText, stepText, ...extra] = s.trim().split(".");
  if (jobText === undefined || stepText === undefined || extra.length > 0) {
    throw new ParseError(`CONTAINER must be in JOBID.STEPID format (e.g. 123.1), got "${s}"`);
  }
  const jobId = parseU32(jobText);
  // Job ids start at 1, so 0 is rejected here rather than later as "not found".
  if (jobId === undefined || jobId === 0) {
    throw new ParseError(`invalid job ID: ${jobText} (expected a whole number from 1 to ${MAX_U32})`);
  }
  const stepId = parseU32(stepText);
  if (stepId === undefined) {
    throw new ParseError(`invalid step ID: ${stepText} (expected a whole number from 0 to ${MAX_U32})`);
  }
  return { jobId, stepId };
}
