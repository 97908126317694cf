// The config keys that bound what one user or one request may ask of the daemons, and what others may see
// (CraneCtld.PrivateData, CraneCtld.Max*, CraneCtld.AllowTaskOversubscription, Craned.JobPidsMax, Craned.LogMax*). Parsed here
// and checked by src/modes/ctld/limits.ts and src/modes/ctld/privacy.ts.

import type { LogLimits } from "./node/log-files";

export interface CtldLimits {
  /** Jobs of one uid that may be Configuring, Starting or Running at once; more wait (pending reason QOSMaxJobsPerUserLimit). 0 = unlimited. */
  maxJobsPerUser: number;
  /** Active (not finished) jobs one uid may have; more are refused at submission. 0 = unlimited. */
  maxSubmitJobsPerUser: number;
  /** Copies one SubmitBatchJobs request may ask for. */
  maxJobsPerSubmit: number;
  /** Entries of any one list of a query (job ids, users, names, ...). */
  maxQueryItems: number;
  /** Size of one job's or step's specification (script, environment, arguments, container settings), in bytes. */
  maxSpecBytes: number;
  /** Whether a job or step may run more tasks on a node than the largest node has CPUs. */
  allowTaskOversubscription: boolean;
}

export interface LimitsConfig {
  /** Another user's command line, script, environment, mounts and working directory are hidden (Slurm's PrivateData). */
  privateData: boolean;
  limits: CtldLimits;
  /** pids.max of each job cgroup: processes and threads a job may have on a node. 0 = unlimited. */
  jobPidsMax: number;
  /** Cap and rotation of a process step's log on its node (Craned.LogMaxSize, Craned.LogMaxFiles). */
  stepLogLimits: LogLimits;
}

export const DEFAULT_LIMITS: CtldLimits = {
  maxJobsPerUser: 0,
  maxSubmitJobsPerUser: 100_000,
  maxJobsPerSubmit: 10_000,
  maxQueryItems: 10_000,
  maxSpecBytes: 1024 * 1024,
  allowTaskOversubscription: false,
};

export const DEFAULT_JOB_PIDS_MAX = 4096;
/** No cap by default: like Slurm's output files, a step's log keeps everything unless the admin sets a size. */
export const DEFAULT_STEP_LOG_LIMITS: LogLimits = { maxBytes: 0, maxFiles: 1 };

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * Reads the keys from the CraneCtld and Craned sections. `fail(key, what)` throws the config error naming the key
 * and the file.
 */
export function parseLimits(ctld: Record<string, unknown>, craned: Record<string, unknown>, fail: (key: string, what: string) => never): LimitsConfig {
  const count = (obj: Record<string, unknown>, section: string, key: string, dflt: number, min: number, zero?: string): number => {
    const v = obj[key];
    if (v === undefined || v === null) return dflt;
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      fail(`${section}.${key}`, `expected a whole number >= ${min}${zero ? ` (${zero})` : ""}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  const flag = (obj: Record<string, unknown>, section: string, key: string, dflt: boolean): boolean => {
    const v = obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v === "boolean") return v;
    if (v === "true" || v === "yes") return true;
    if (v === "false" || v === "no") return false;
    return fail(`${section}.${key}`, `expected true or false, got ${JSON.stringify(v)}`);
  };
  // A size: a number of bytes, or a number with a unit (512K, 1M; 1024-based). Unlike memory sizes, no unit means bytes.
  const size = (obj: Record<string, unknown>, section: string, key: string, dflt: number, min = 1): number => {
    const v = obj[key];
    if (v === undefined || v === null) return dflt;
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(String(v).trim());
    const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
    const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
    if (!Number.isSafeInteger(n) || n < min) fail(`${section}.${key}`, `expected a size in bytes such as 1048576 or 1M, got ${JSON.stringify(v)}`);
    return n;
  };
  const d = DEFAULT_LIMITS;
  return {
    privateData: flag(ctld, "CraneCtld", "PrivateData", true),
    limits: {
      maxJobsPerUser: count(ctld, "CraneCtld", "MaxJobsPerUser", d.maxJobsPerUser, 0, "0 = unlimited"),
      maxSubmitJobsPerUser: count(ctld, "CraneCtld", "MaxSubmitJobsPerUser", d.maxSubmitJobsPerUser, 0, "0 = unlimited"),
      maxJobsPerSubmit: count(ctld, "CraneCtld", "MaxJobsPerSubmit", d.maxJobsPerSubmit, 1),
      maxQueryItems: count(ctld, "CraneCtld", "MaxQueryItems", d.maxQueryItems, 1),
      maxSpecBytes: size(ctld, "CraneCtld", "MaxSpecBytes", d.maxSpecBytes),
      allowTaskOversubscription: flag(ctld, "CraneCtld", "AllowTaskOversubscription", d.allowTaskOversubscription),
    },
    jobPidsMax: count(craned, "Craned", "JobPidsMax", DEFAULT_JOB_PIDS_MAX, 0, "0 = unlimited"),
    stepLogLimits: {
      maxBytes: size(craned, "Craned", "LogMaxSize", DEFAULT_STEP_LOG_LIMITS.maxBytes, 0),
      maxFiles: count(craned, "Craned", "LogMaxFiles", DEFAULT_STEP_LOG_LIMITS.maxFiles, 0),
    },
  };
}
