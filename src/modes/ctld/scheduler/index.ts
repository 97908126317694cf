// The ctld scheduler: schedule(snapshot) -> placements and pending reasons. See README.md.
export { schedule, priorityOrder, DEFAULT_MAX_BACKFILL_JOBS } from "./schedule";
export { feasibleEver } from "./feasible";
export type {
  NodeSnapshot,
  PendingJob,
  PendingReason,
  Placement,
  Reservation,
  Resources,
  RunningAllocation,
  ScheduleOptions,
  ScheduleResult,
  Snapshot,
} from "./types";
