// The steps a craned runs, each in its own supervisor process, with their on-disk bookkeeping:
//   <state>/steps/<job>.<step>/spec.json      what the supervisor runs (written by craned)
//   <state>/steps/<job>.<step>/supervisor.pid the supervisor's pid (written by the supervisor)
//   <state>/steps/<job>.<step>/stop           why it must stop (Cancelled | ExceedTimeLimit), before SIGTERM
//   <state>/jobs/<job>/pod.json               the job's pod on this node (written by step 0's supervisor)
//   <state>/logs/<job>/<step>.log             the step's output in CRI log format (kept after the job ends)
import fs from "node:fs";
import path from "node:path";
import type { StepToD } from "../../core/generated/crane/crane";
import type { ContainerConfig } from "../../core/config";
import { cranedStateDirModes } from "../../core/file-modes";

/** Everything a supervisor needs, written to spec.json by craned. */
export interface SupervisorSpec {
  step: ReturnType<typeof import("../../core/generated/crane/crane").StepToD.toJSON>;
  node: string;
  stateDir: string;
  cranedSocket: string;
  jobCgroup: string;
  container: ContainerConfig;
  clusterName: string;
  /** The config's AdminUids: the supervisor applies the container policy again (core/container-policy.ts). */
  adminUids: number[];
}

export function stepKey(jobId: number, stepId: number): string {
  return `${jobId}.${stepId}`;
}

export class StepDirs {
  constructor(readonly stateDir: string) {
    for (const d of ["steps", "jobs", "logs", "scripts"]) fs.mkdirSync(path.join(stateDir, d), { recursive: true });
    cranedStateDirModes(stateDir); // 0700, and so are steps/, jobs/, logs/ and scripts/ (see file-modes.ts)
  }

  stepDir(jobId: number, stepId: number): string {
    return path.join(this.stateDir, "steps", stepKey(jobId, stepId));
  }

  jobDir(jobId: number): string {
    return path.join(this.stateDir, "jobs", String(jobId));
  }

  logDir(jobId: number): string {
    return path.join(this.stateDir, "logs", String(jobId));
  }

  logFile(jobId: number, stepId: number): string {
    return path.join(this.logDir(jobId), `${stepId}.log`);
  }

  /** Steps with a directory on disk, as [jobId, stepId]. */
  listSteps(): [number, number][] {
    return fs
      .readdirSync(path.join(this.stateDir, "steps"))
      .map((n) => n.split(".").map(Number) as [number, number])
      .filter(([j, s]) => Number.isInteger(j) && Number.isInteger(s));
  }

  readPid(jobId: number, stepId: number): number | undefined {
    try {
      const pid = Number(fs.readFileSync(path.join(this.stepDir(jobId, stepId), "supervisor.pid"), "utf8"));
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  writeSpec(step: StepToD, spec: SupervisorSpec): string {
    const dir = this.stepDir(step.jobId, step.stepId);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, "spec.json");
    fs.writeFileSync(file, JSON.stringify(spec), { mode: 0o600 });
    return file;
  }
}

/** True when `pid` is alive and is one of our supervisors (not a recycled pid). */
export function isSupervisorAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/\) Z /.test(stat)) return false; // a zombie has finished
    return cmdline.includes("supervisor");
  } catch {
    return false;
  }
}
