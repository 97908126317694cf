// Time in crane: durations and timeouts (heartbeats, time limits, grace periods) are measured on the monotonic clock,
// which a change of the system's wall clock does not move; the wall clock is for display and records only.

/** Milliseconds on the monotonic clock (an arbitrary origin: compare only with other readings of this process). */
export function monotonicMs(): number {
  return performance.now();
}

/**
 * The monotonic reading that corresponds to a wall-clock time recorded earlier (e.g. a job's start, saved before a
 * restart): taken once, so that a later jump of the wall clock does not move it.
 */
export function monotonicOf(wallMs: number, nowWall = Date.now(), nowMono = monotonicMs()): number {
  return nowMono - (nowWall - wallMs);
}
