// Steps as the lifecycle sees them: the steps a job starts with, and a step's status from its nodes' reports.
import { JobStatus, JobType } from "../../../core/generated/crane/crane";
import { combineTerminal, isTerminal } from "../../../core/job-state";
import { DAEMON_STEP, PRIMARY_STEP, newStep, type JobRecord, type StepRecord } from "../records";
import type { Resources } from "../scheduler";

/**
 * The steps a job starts with on its nodes: a container job's pod (the daemon step) and the primary step, which
 * is the batch script on the first node (batch jobs, `cbatch --pod`) or the job's command everywhere.
 */
export function initialSteps(job: JobRecord, nodes: string[], perNode: Resources): StepRecord[] {
  const spec = job.spec;
  const base = {
    uid: spec.uid,
    resPerNode: perNode,
    submitTime: job.submitTime,
    timeLimitSeconds: spec.timeLimitSeconds,
    cmdLine: spec.cmdLine,
    cwd: spec.cwd,
    env: spec.env,
    ntasksPerNode: spec.ntasksPerNode,
  };
  const isContainer = spec.type === JobType.Container;
  const steps: StepRecord[] = [];
  if (isContainer) {
    steps.push(newStep({ ...base, stepId: DAEMON_STEP, name: "pod", type: JobType.Container, nodes, argv: [], isBatchPrimary: false }));
  }
  const batchPrimary = spec.type === JobType.Batch || (isContainer && !spec.containerMeta);
  steps.push(
    newStep({
      ...base,
      stepId: PRIMARY_STEP,
      name: spec.name,
      type: batchPrimary ? JobType.Batch : spec.type,
      nodes: batchPrimary ? [nodes[0]!] : nodes,
      argv: spec.argv,
      ...(spec.pty && !batchPrimary ? { pty: true } : {}),
      containerMeta: batchPrimary ? undefined : spec.containerMeta,
      io: spec.io,
      isBatchPrimary: batchPrimary,
    }),
  );
  return steps;
}

/** What a step's nodes' reports add up to; `undefined` when its status stays as it is. */
export type StepOutcome = { status: JobStatus.Running | JobStatus.Starting } | { status: JobStatus; ended: true; exitCode: number; reason: string };

export function stepOutcome(step: StepRecord): StepOutcome | undefined {
  const states = step.nodes.map((n) => step.perNode[n]?.status ?? JobStatus.Configuring);
  const before = step.status;
  if (states.every(isTerminal)) {
    if (isTerminal(before)) return undefined;
    const reports = step.nodes.map((n) => step.perNode[n]!);
    let status = combineTerminal(states);
    // Why ctld ended the step wins over how it died; a time limit or a cancel wins even over a clean exit.
    if (step.endRequested !== undefined && status !== JobStatus.Completed) status = step.endRequested;
    if (step.endRequested === JobStatus.ExceedTimeLimit || step.endRequested === JobStatus.Cancelled) status = step.endRequested;
    return {
      status,
      ended: true,
      exitCode: reports.find((r) => r.exitCode !== 0)?.exitCode ?? 0,
      reason: [...new Set(reports.map((r) => r.reason).filter(Boolean))].join("; "),
    };
  }
  if (before === JobStatus.Running) return undefined;
  if (states.every((s) => s === JobStatus.Running || isTerminal(s))) return { status: JobStatus.Running };
  if (states.some((s) => s === JobStatus.Starting || s === JobStatus.Running)) return { status: JobStatus.Starting };
  return undefined;
}

/**
 * Why a step with a share of its own (StepRecord.ownShare) does not fit beside its started siblings' shares on one
 * of its nodes, within the job's allocation there; undefined when it fits or has no share of its own.
 */
export function shareShortfall(job: JobRecord, step: StepRecord): string | undefined {
  const mine = step.ownShare;
  if (!mine) return undefined;
  // GRES by name: a step's `gpu:1` is counted against the job's `gpu:a100:2`.
  const byName = (gres: Record<string, number>, into: Record<string, number> = {}) => {
    for (const [k, v] of Object.entries(gres)) {
      const name = k.split(":")[0]!;
      into[name] = (into[name] ?? 0) + v;
    }
    return into;
  };
  for (const node of step.nodes) {
    const alloc = job.allocByNode?.[node] ?? job.allocPerNode;
    const allocGres = byName(alloc.gres);
    const used: Resources = { cpu: mine.cpu, memoryBytes: mine.memoryBytes, gres: byName(mine.gres) };
    for (const s of job.steps) {
      const theirs = s.ownShare;
      if (s === step || !theirs || !s.nodes.includes(node) || s.status === JobStatus.Pending || isTerminal(s.status)) continue;
      used.cpu += theirs.cpu;
      used.memoryBytes += theirs.memoryBytes;
      byName(theirs.gres, used.gres);
    }
    if (used.cpu > alloc.cpu + 1e-9) return `${node}: ${used.cpu} CPUs with its siblings, the job has ${alloc.cpu}`;
    if (used.memoryBytes > alloc.memoryBytes) return `${node}: ${used.memoryBytes} B of memory with its siblings, the job has ${alloc.memoryBytes}`;
    for (const [k, v] of Object.entries(used.gres)) {
      if (v > (allocGres[k] ?? 0)) return `${node}: ${k}:${v} with its siblings, the job has ${allocGres[k] ?? 0}`;
    }
  }
  return undefined;
}
