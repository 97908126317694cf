// A job and its steps as the public API shows them (QueryJobsInfo, WatchCluster).
import type { JobInfo, StepInfo } from "../../core/generated/crane/crane";
import type { JobRecord, StepRecord } from "./records";
import { formatDependency } from "../../core/parse/dependency";

function stepInfo(job: JobRecord, s: StepRecord): StepInfo {
  return {
    jobId: job.jobId,
    stepId: s.stepId,
    name: s.name,
    status: s.status,
    type: s.type,
    nodes: s.nodes,
    resPerNode: s.resPerNode,
    submitTime: s.submitTime,
    startTime: s.startTime,
    endTime: s.endTime,
    timeLimitSeconds: s.timeLimitSeconds,
    exitCode: s.exitCode,
    reason: s.reason,
    cmdLine: s.cmdLine,
    containerMeta: s.containerMeta,
    cwd: s.cwd,
    uid: s.uid,
    containerIds: Object.fromEntries(
      Object.entries(s.perNode)
        .filter(([, v]) => v.containerId)
        .map(([k, v]) => [k, v.containerId]),
    ),
    argv: s.argv,
    pty: s.pty ?? false,
  };
}

export function jobInfo(job: JobRecord, withSteps = true): JobInfo {
  const spec = job.spec;
  return {
    jobId: job.jobId,
    name: spec.name,
    type: spec.type,
    uid: spec.uid,
    gid: spec.gid,
    username: job.username,
    partition: spec.partition,
    account: spec.account,
    qos: spec.qos,
    status: job.status,
    pendingReason: job.pendingReason,
    reason: job.reason,
    exitCode: job.exitCode,
    nodes: job.nodes,
    nodeNum: spec.nodeNum,
    reqPerNode: job.reqPerNode,
    allocPerNode: job.allocPerNode,
    ntasks: spec.ntasks,
    ntasksPerNode: spec.ntasksPerNode,
    cpusPerTask: spec.cpusPerTask,
    timeLimitSeconds: spec.timeLimitSeconds,
    submitTime: job.submitTime,
    startTime: job.startTime,
    endTime: job.endTime,
    held: spec.hold,
    requeueCount: job.requeueCount,
    dependency: formatDependency(spec.dependencies ?? [], spec.dependencyAnyOf ?? false),
    beginTime: spec.beginTime ?? 0,
    array: spec.array,
    priority: job.priority,
    cwd: spec.cwd,
    cmdLine: spec.cmdLine,
    podMeta: spec.podMeta,
    steps: withSteps ? job.steps.map((s) => stepInfo(job, s)) : [],
    exclusive: spec.exclusive,
    reqNodes: spec.nodelist,
    excludeNodes: spec.excludes,
  };
}
