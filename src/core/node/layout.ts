// What craned and its node's supervisor share on disk, in one place. Everything is root's, in 0700 directories: the
// state directory (on disk) and the runtime directory (best on a tmpfs: the files of a step are made and removed at
// every step, and mean nothing after a reboot, when its tasks are gone too; CranedRuntimeDir).
//
//   <state>/craned.sock                        craned's socket: the supervisor's reports (root only)
//   <state>/craned.pid                         craned's pid
//   <state>/supervisor.sock                    the supervisor's socket: craned's StartStep / StopStep (root only)
//   <state>/supervisor.pid                     "pid starttime" of the node's supervisor
//   <state>/supervisor.log                     the supervisor's own log (every step's lines, prefixed by its id)
//   <state>/logs/<job>/<step>.log              the step's output in CRI log format (kept after the job ends)
//   <run>/steps/<job>.<step>/spec.json         what to run (craned writes it; versioned, see StepSpecFile)
//   <run>/steps/<job>.<step>/hosted            written by the supervisor when it takes the step on
//   <run>/steps/<job>.<step>/result.json       the terminal report, saved before it is sent
//   <run>/steps/<job>.<step>/shim-<i>.pid      "pid starttime" of task i's shim (a shell that holds its exit status)
//   <run>/steps/<job>.<step>/task-<i>.pid      task i's pid (its own process group), written by its shim
//   <run>/steps/<job>.<step>/task-<i>.exit     task i's exit status, written by its shim when the task ends
//   <run>/steps/<job>.<step>/task-<i>.stdout   FIFOs of a crun task's output (and .stderr), read by the supervisor
//   <run>/steps/<job>.<step>/container.json    the container of a container step, once created
//   <run>/jobs/<job>/pod.json                  the job's pod on this node (written by step 0)
//   <run>/scripts/<job>.sh                     a batch script: the user's file (0700) in root's private directory
import fs from "node:fs";
import path from "node:path";
import type { ContainerConfig } from "../config";
import { cranedRuntimeDirModes, cranedStateDirModes } from "../file-modes";
import { JobType, StepToD } from "../generated/crane/crane";

/** The daemon step of a container job: it creates and holds the job's pod on each node. */
export const DAEMON_STEP_ID = 0;
/** A job's own step: its batch script, or its first container or crun command. Appended steps come after. */
export const PRIMARY_STEP_ID = 1;

export function isPodStep(step: Pick<StepToD, "stepId" | "jobType">): boolean {
  return step.stepId === DAEMON_STEP_ID && step.jobType === JobType.Container;
}

export function stepKey(jobId: number, stepId: number): string {
  return `${jobId}.${stepId}`;
}

/** Format of spec.json; a reader refuses any other. */
export const STEP_SPEC_VERSION = 2;

/** Everything the supervisor needs to run one step, written to spec.json by craned. */
export interface StepSpec {
  step: StepToD;
  node: string;
  stateDir: string;
  jobCgroup: string;
  container: ContainerConfig;
  clusterName: string;
  /** The config's AdminUids: the supervisor applies the container policy again (core/container-policy.ts). */
  adminUids: number[];
}

interface StepSpecFile extends Omit<StepSpec, "step"> {
  version: number;
  step: unknown;
}

const RUNTIME_SUBDIRS = ["steps", "jobs", "scripts"];

export class NodeLayout {
  constructor(
    readonly stateDir: string,
    readonly runtimeDir: string,
  ) {}

  /** Creates the directories with their modes (0700; see file-modes.ts); refuses a runtime directory not root's own. */
  ensure(): this {
    fs.mkdirSync(path.join(this.stateDir, "logs"), { recursive: true });
    cranedStateDirModes(this.stateDir);
    cranedRuntimeDirModes(this.runtimeDir, RUNTIME_SUBDIRS);
    return this;
  }

  get cranedSocket(): string {
    return path.join(this.stateDir, "craned.sock");
  }
  get cranedPidFile(): string {
    return path.join(this.stateDir, "craned.pid");
  }
  get supervisorSocket(): string {
    return path.join(this.stateDir, "supervisor.sock");
  }
  /** The supervisor's websocket server for crun --pty sessions (root-only, like its gRPC socket): see ptySessionPath. */
  get supervisorStreamSocket(): string {
    return path.join(this.stateDir, "supervisor-stream.sock");
  }
  get supervisorPidFile(): string {
    return path.join(this.stateDir, "supervisor.pid");
  }
  get supervisorLog(): string {
    return path.join(this.stateDir, "supervisor.log");
  }

  stepDir(jobId: number, stepId: number): string {
    return path.join(this.runtimeDir, "steps", stepKey(jobId, stepId));
  }
  specFile(jobId: number, stepId: number): string {
    return path.join(this.stepDir(jobId, stepId), "spec.json");
  }
  hostedMarker(jobId: number, stepId: number): string {
    return path.join(this.stepDir(jobId, stepId), "hosted");
  }
  resultFile(jobId: number, stepId: number): string {
    return path.join(this.stepDir(jobId, stepId), "result.json");
  }
  shimPidFile(jobId: number, stepId: number, task: number): string {
    return path.join(this.stepDir(jobId, stepId), `shim-${task}.pid`);
  }
  taskPidFile(jobId: number, stepId: number, task: number): string {
    return path.join(this.stepDir(jobId, stepId), `task-${task}.pid`);
  }
  taskExitFile(jobId: number, stepId: number, task: number): string {
    return path.join(this.stepDir(jobId, stepId), `task-${task}.exit`);
  }
  /** A task's stdout or stderr FIFO, or the stdin FIFO of a crun --pty task's terminal. */
  taskFifo(jobId: number, stepId: number, task: number, stream: "stdin" | "stdout" | "stderr"): string {
    return path.join(this.stepDir(jobId, stepId), `task-${task}.${stream}`);
  }
  containerFile(jobId: number, stepId: number): string {
    return path.join(this.stepDir(jobId, stepId), "container.json");
  }
  jobDir(jobId: number): string {
    return path.join(this.runtimeDir, "jobs", String(jobId));
  }
  podFile(jobId: number): string {
    return path.join(this.jobDir(jobId), "pod.json");
  }
  logDir(jobId: number): string {
    return path.join(this.stateDir, "logs", String(jobId));
  }
  logFile(jobId: number, stepId: number): string {
    return path.join(this.logDir(jobId), `${stepId}.log`);
  }
  scriptFile(jobId: number): string {
    return path.join(this.runtimeDir, "scripts", `${jobId}.sh`);
  }

  /** Steps with a directory on disk, as [jobId, stepId]. */
  listSteps(): [number, number][] {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.runtimeDir, "steps"));
    } catch {
      return [];
    }
    return names.map((n) => n.split(".").map(Number) as [number, number]).filter(([j, s]) => Number.isInteger(j) && Number.isInteger(s));
  }

  writeSpec(spec: StepSpec): void {
    const { jobId, stepId } = spec.step;
    fs.mkdirSync(this.stepDir(jobId, stepId), { recursive: true, mode: 0o700 });
    const file: StepSpecFile = { version: STEP_SPEC_VERSION, ...spec, step: StepToD.toJSON(spec.step) };
    try {
      writeWhole(this.specFile(jobId, stepId), JSON.stringify(file));
    } catch (e) {
      // A step without its spec never starts (a full disk): no directory may stay that looks like one held here,
      // since freeing the job removes only the steps craned took on.
      removeFlatDir(this.stepDir(jobId, stepId));
      throw e;
    }
  }

  readSpec(jobId: number, stepId: number): StepSpec {
    const file = this.specFile(jobId, stepId);
    const raw = JSON.parse(fs.readFileSync(file, "utf8")) as StepSpecFile;
    if (raw.version !== STEP_SPEC_VERSION) {
      throw new Error(`${file} has format ${raw.version ?? "(none)"}, this supervisor reads format ${STEP_SPEC_VERSION}`);
    }
    return { ...raw, step: StepToD.fromJSON(raw.step) };
  }

  /** Removes what a freed job left: its steps' directories, its pod record and script (its logs stay). */
  removeJob(jobId: number, stepIds: number[]): void {
    for (const s of stepIds) removeFlatDir(this.stepDir(jobId, s));
    removeFlatDir(this.jobDir(jobId));
    fs.rmSync(this.scriptFile(jobId), { force: true });
  }
}

/** Removes a directory of plain files (a step's or a job's), cheaper than a recursive rm; anything else falls back. */
function removeFlatDir(dir: string): void {
  try {
    for (const f of fs.readdirSync(dir)) fs.unlinkSync(path.join(dir, f));
    fs.rmdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes a file whole (temp file, then rename), so a reader never sees half of it. */
export function writeWhole(file: string, data: string): void {
  fs.writeFileSync(`${file}.tmp`, data, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** Where a crun --pty step's terminal is served on the supervisor's stream socket. */
export function ptySessionPath(jobId: number, stepId: number): string {
  return `/pty/${jobId}.${stepId}`;
}
