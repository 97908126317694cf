// The CRANE_* environment a step sees, computed from what ctld sent for this node.
import type { StepToD } from "../../core/generated/crane/crane";

export function stepEnvironment(step: StepToD, clusterName: string): Record<string, string> {
  const res = step.jobRes ?? { cpu: 0, memoryBytes: 0, gres: {} };
  const gpus = Object.entries(res.gres)
    .filter(([k]) => k === "gpu" || k.startsWith("gpu:"))
    .reduce((a, [, v]) => a + v, 0);
  const env: Record<string, string> = {
    CRANE_JOB_ID: String(step.jobId),
    CRANE_STEP_ID: String(step.stepId),
    CRANE_JOB_NAME: step.jobName,
    CRANE_JOB_NODELIST: step.jobNodes.join(";"),
    CRANE_JOB_NUM_NODES: String(step.jobNodes.length),
    CRANE_NTASKS: String(step.ntasks),
    CRANE_NTASKS_PER_NODE: String(step.ntasksPerNode),
    CRANE_CPUS_PER_TASK: step.cpusPerTask.toFixed(2),
    CRANE_CPUS_ON_NODE: res.cpu.toFixed(2),
    CRANE_MEM_PER_NODE: `${Math.floor(res.memoryBytes / 1048576)}M`,
    CRANE_JOB_PARTITION: step.partition,
    CRANE_JOB_ACCOUNT: step.account,
    CRANE_JOB_QOS: step.qos,
    CRANE_SUBMIT_DIR: step.submitDir,
    CRANE_SUBMIT_HOST: step.submitHost,
    CRANE_NODEID: String(step.nodeIndex),
    CRANE_CLUSTER_NAME: clusterName,
    CRANE_GPUS: String(gpus),
  };
  if (step.array) {
    env.CRANE_ARRAY_JOB_ID = String(step.array.arrayJobId);
    env.CRANE_ARRAY_TASK_ID = String(step.array.taskId);
    env.CRANE_ARRAY_TASK_COUNT = String(step.array.taskCount);
    env.CRANE_ARRAY_TASK_MIN = String(step.array.taskMin);
    env.CRANE_ARRAY_TASK_MAX = String(step.array.taskMax);
  }
  if (step.timeLimitSeconds) env.CRANE_JOB_END_TIME = String(step.startTime + step.timeLimitSeconds * 1000);
  // A container sees only its own devices, numbered from 0; a process step sees the host's, so it gets the host
  // indices of the GPUs ctld assigned to the job on this node.
  if (step.gpuIds.length > 0 && !step.containerMeta) env.CUDA_VISIBLE_DEVICES = step.gpuIds.join(",");
  else if (step.gpuIds.length > 0) env.CUDA_VISIBLE_DEVICES = step.gpuIds.map((_, i) => i).join(",");
  else if (gpus > 0) env.CUDA_VISIBLE_DEVICES = Array.from({ length: gpus }, (_, i) => i).join(",");
  return env;
}
