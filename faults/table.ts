// The suite's table: one row per fault, the counts that must be zero between the job count and the time taken.
import type { FaultRow } from "./scenarios";

interface Column {
  title: string;
  cell: (r: FaultRow) => string;
  /** Counts a problem: the suite fails when it is not zero. */
  problem?: (r: FaultRow) => string[];
}

const COLUMNS: Column[] = [
  { title: "fault", cell: (r) => r.fault },
  { title: "jobs", cell: (r) => String(r.jobs) },
  { title: "lost", cell: (r) => String(r.lost.length), problem: (r) => r.lost },
  { title: "wrongly failed", cell: (r) => String(r.wronglyFailed.length), problem: (r) => r.wronglyFailed },
  { title: "output lost", cell: (r) => String(r.outputLost.length), problem: (r) => r.outputLost },
  { title: "pods left", cell: (r) => String(r.pods.length), problem: (r) => r.pods },
  { title: "containers left", cell: (r) => String(r.containers.length), problem: (r) => r.containers },
  { title: "cgroups left", cell: (r) => String(r.cgroups.length), problem: (r) => r.cgroups },
  { title: "step dirs left", cell: (r) => String(r.stepDirs.length), problem: (r) => r.stepDirs },
  { title: "procs left", cell: (r) => String(r.processes.length), problem: (r) => r.processes },
  { title: "seconds", cell: (r) => String(r.seconds) },
];

/** Every problem of a row, one line each, prefixed by its column. */
export function problemsOf(row: FaultRow): string[] {
  return COLUMNS.flatMap((c) => (c.problem?.(row) ?? []).map((p) => `${c.title}: ${p}`));
}

export function formatTable(rows: FaultRow[]): string {
  const cells = [COLUMNS.map((c) => c.title), ...rows.map((r) => COLUMNS.map((c) => c.cell(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return cells.map(line).join("\n");
}
