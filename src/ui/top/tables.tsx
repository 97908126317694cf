// The tables of `crane top`: they draw what they are given (a window of rows around the selection), nothing more.
import { Box } from "ink";
import type { JobInfo, LogLine, NodeInfo, PartitionInfo, StepInfo } from "../../core/generated/crane/crane";
import { Text } from "./text";
import {
  JOB_COLUMNS,
  JOB_WIDTHS,
  STEP_COLUMNS,
  STEP_WIDTHS,
  bar,
  fit,
  jobCells,
  nodeStateColor,
  nodeUsage,
  sortedNodes,
  stateColor,
  stateName,
  stepCells,
  timeCell,
  usageText,
} from "./model";

/** The first row to show so that `selected` is visible in `height` rows (keeps it in the middle when scrolling). */
export function windowStart(count: number, selected: number, height: number): number {
  if (count <= height || selected < height / 2) return 0;
  return Math.min(count - height, Math.max(0, selected - Math.floor(height / 2)));
}

function Row({
  cells,
  widths,
  selected,
  color,
  colorAt,
  width,
}: {
  cells: readonly string[];
  widths: readonly number[];
  selected?: boolean;
  color?: string;
  colorAt?: number;
  width: number;
}) {
  const fixed = widths.reduce((a, b) => a + b, 0) + 2;
  return (
    <Text inverse={selected} wrap="truncate-end">
      {selected ? "› " : "  "}
      {cells.map((c, i) => (
        <Text key={i} color={i === colorAt ? color : undefined}>
          {fit(c, widths[i] || Math.max(8, width - fixed))}
        </Text>
      ))}
    </Text>
  );
}

export function JobsTable({ jobs, selected, height, now, width }: { jobs: JobInfo[]; selected: number; height: number; now: number; width: number }) {
  const h = Math.max(1, height - 1);
  const start = windowStart(jobs.length, selected, h);
  const shown = jobs.slice(start, start + h);
  return (
    <Box flexDirection="column" height={height}>
      <Row cells={JOB_COLUMNS} widths={JOB_WIDTHS} width={width} />
      {shown.length === 0 && <Text dimColor>no jobs match (m: mine/all, f: state filter)</Text>}
      {shown.map((j, i) => (
        <Row
          key={j.jobId}
          cells={jobCells(j, now)}
          widths={JOB_WIDTHS}
          selected={start + i === selected}
          color={stateColor(j.status)}
          colorAt={4}
          width={width}
        />
      ))}
    </Box>
  );
}

export function StepsTable({
  job,
  steps,
  selected,
  now,
  width,
  height,
}: {
  job: JobInfo;
  steps: StepInfo[];
  selected: number;
  now: number;
  width: number;
  height: number;
}) {
  const h = Math.max(1, height - 2);
  const start = windowStart(steps.length, selected, h);
  const where = job.nodes.length ? ` on ${job.nodes.join(",")}` : job.pendingReason ? ` (${job.pendingReason})` : "";
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate-end">
        Job {job.jobId} <Text bold>{job.name}</Text> · <Text color={stateColor(job.status)}>{stateName(job.status)}</Text>
        {where} · {job.username} · {job.partition} · {timeCell(job, now)}
      </Text>
      <Row cells={STEP_COLUMNS} widths={STEP_WIDTHS} width={width} />
      {steps.length === 0 && <Text dimColor>no steps yet (the job has not started)</Text>}
      {steps.slice(start, start + h).map((s, i) => (
        <Row
          key={s.stepId}
          cells={stepCells(job, s)}
          widths={STEP_WIDTHS}
          selected={start + i === selected}
          color={stateColor(s.status)}
          colorAt={3}
          width={width}
        />
      ))}
    </Box>
  );
}

export function LogPane({ title, note, lines, height, width }: { title: string; note: string; lines: LogLine[]; height: number; width: number }) {
  const h = Math.max(1, height - 1);
  const shown = lines.slice(-h);
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate-end">
        ── {title} <Text dimColor>{note}</Text> {"─".repeat(Math.max(0, width - title.length - note.length - 6))}
      </Text>
      {shown.length === 0 && <Text dimColor>(no output yet)</Text>}
      {shown.map((l, i) => (
        <Text key={i} color={l.stream === "stderr" ? "red" : undefined} wrap="truncate-end">
          {Buffer.from(l.data)
            .toString("utf8")
            .replace(/[\r\t]/g, " ") || " "}
        </Text>
      ))}
    </Box>
  );
}

const BAR = 12;

export function NodesTable({ nodes, partitions, selected, height }: { nodes: NodeInfo[]; partitions: PartitionInfo[]; selected: number; height: number }) {
  const list = sortedNodes(nodes);
  const h = Math.max(1, height - 2 - Math.min(partitions.length, 4));
  const start = windowStart(list.length, selected, h);
  const widths = [14, 7, 12, 8 + BAR, 12 + BAR, 6 + BAR] as const;
  return (
    <Box flexDirection="column" height={height}>
      <Row cells={["NODE", "STATE", "PARTITIONS", "CPU", "MEMORY", "GPU"]} widths={widths} width={0} />
      {list.slice(start, start + h).map((n, i) => {
        const u = nodeUsage(n);
        return (
          <Text key={n.name} inverse={start + i === selected} wrap="truncate-end">
            {start + i === selected ? "› " : "  "}
            {fit(n.name, widths[0])}
            <Text color={nodeStateColor(n.state)}>{fit(n.state, widths[1])}</Text>
            {fit(n.partitions.join(","), widths[2])}
            <Text color="green">{bar(u.cpu, BAR)}</Text> {fit(usageText(u.cpu, "cpu"), widths[3] - BAR - 1)}
            <Text color="blue">{bar(u.mem, BAR)}</Text> {fit(usageText(u.mem, "mem"), widths[4] - BAR - 1)}
            <Text color="magenta">{bar(u.gpu, BAR)}</Text> {fit(usageText(u.gpu, "gpu"), widths[5] - BAR - 1)}
            {n.reason ? <Text color="red">{`\n    └ ${n.reason}`}</Text> : null}
          </Text>
        );
      })}
      <Text bold>Partitions</Text>
      {partitions.slice(0, 4).map((p) => (
        <Text key={p.name} wrap="truncate-end">
          {fit(`${p.name}${p.isDefault ? "*" : ""}`, 14)}
          {fit(p.up ? "up" : "down", 7)}
          nodes {p.nodes.join(",")}
          {p.maxTimeSeconds ? ` · max time ${p.maxTimeSeconds}s` : ""}
        </Text>
      ))}
    </Box>
  );
}
