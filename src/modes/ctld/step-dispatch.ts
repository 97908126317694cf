// What a craned gets to start a step on its node (ExecuteStep's StepToD), built from the job and step records.
import type { StepToD } from "../../core/generated/crane/crane";
import { stepDevices } from "./devices";
import { stepDeviceMap } from "./allocations";
import type { NodeRegistry } from "./nodes";
import type { JobRecord, StepRecord } from "./records";

/** `registry`: the image registry's credentials of a container step, which only the launch carries. */
export function stepToD(job: JobRecord, step: StepRecord, node: string, nodes: NodeRegistry, registry?: { username: string; password: string }): StepToD {
  const spec = job.spec;
  const entry = nodes.get(node);
  // Devices follow the node's own GRES keys; a step gets the job's devices of each key it uses.
  const { files: deviceFiles, gpuIds } = stepDevices(stepDeviceMap(job, step, node, nodes), step.resPerNode.gres, entry?.deviceFiles ?? {});
  const containerMeta = step.containerMeta && registry ? { ...step.containerMeta, image: { ...step.containerMeta.image!, ...registry } } : step.containerMeta;
  return {
    jobId: job.jobId,
    stepId: step.stepId,
    jobName: spec.name,
    stepName: step.name,
    jobType: spec.type,
    uid: spec.uid,
    gid: spec.gid,
    username: job.username,
    jobRes: job.allocPerNode,
    stepRes: step.resPerNode,
    jobNodes: job.nodes,
    stepNodes: step.nodes,
    nodeIndex: job.nodes.indexOf(node),
    partition: spec.partition,
    ntasks: spec.ntasks,
    ntasksPerNode: step.ntasksPerNode || 1,
    cpusPerTask: spec.cpusPerTask,
    timeLimitSeconds: step.timeLimitSeconds,
    cwd: step.cwd,
    submitDir: spec.submitDir || spec.cwd,
    submitHost: spec.submitHost,
    env: step.env,
    shScript: step.isBatchPrimary ? spec.shScript : "",
    interpreter: spec.interpreter,
    argv: step.argv,
    pty: step.pty ?? false,
    io: step.io,
    podMeta: spec.podMeta,
    containerMeta,
    isBatchPrimary: step.isBatchPrimary,
    account: spec.account,
    qos: spec.qos,
    startTime: job.startTime,
    deviceFiles,
    gpuIds,
    array: job.spec.array,
  };
}
