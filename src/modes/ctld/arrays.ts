// A job array's tasks: each is a job of its own whose spec names the array (its first task's job id) and its place.
import type { JobSpec } from "../../core/generated/crane/crane";

/** The spec of task `taskId` of the array submitted as `spec`; `taskIds` sorted. */
export function arrayTaskSpec(spec: JobSpec, arrayJobId: number, taskIds: number[], taskId: number): JobSpec {
  return {
    ...spec,
    arrayTaskIds: [],
    arrayMaxRunning: 0,
    array: {
      arrayJobId,
      taskId,
      taskCount: taskIds.length,
      taskMin: taskIds[0]!,
      taskMax: taskIds[taskIds.length - 1]!,
      maxRunning: spec.arrayMaxRunning,
    },
  };
}
