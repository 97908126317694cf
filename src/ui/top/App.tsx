// `crane top`: the live jobs table, a job's steps with a log pane, and the nodes view, driven by the keyboard.
// State lives here; the tables below only draw. Data comes from a TopBackend (the watch stream in real use).
import { Box, useApp, useInput, useStdin, useWindowSize, type Key } from "ink";
import { useEffect, useMemo, useRef, useState } from "react";
import { JobType, type LogLine } from "../../core/generated/crane/crane";
import { ClusterView } from "../../core/cli/watch-client";
import type { TopBackend } from "./backend";
import { JobsTable, NodesTable, StepsTable, LogPane } from "./tables";
import { ColorContext, Text } from "./text";
import { SORT_KEYS, STATE_FILTERS, countJobs, selectJobs, stepKind, visibleSteps, type JobFilter, type JobSort, type SortKey, type StateFilter } from "./model";

export type Screen = "jobs" | "steps" | "nodes";

export interface TopOptions {
  /** The user "mine" means; `all` starts with everybody's jobs. */
  me: string;
  all: boolean;
  state: StateFilter;
  sort: SortKey;
  /** Only these job types (`ccon top`: containers). */
  types?: JobType[];
  partition?: string;
  screen?: Screen;
  /** Title shown top left. */
  title?: string;
  /** false: no colour at all (NO_COLOR, --no-color); default true. */
  color?: boolean;
}

interface Confirm {
  question: string;
  run: () => Promise<string>;
  done: string;
}

const LOG_KEEP = 1000;
/** Redraw at most this often when changes stream in (the watch already coalesces; this bounds sorting work). */
const REDRAW_MS = 150;

export function TopApp({ backend, options, now = Date.now }: { backend: TopBackend; options: TopOptions; now?: () => number }) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useWindowSize();
  const viewRef = useRef(new ClusterView());
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState("connecting to ctld...");
  const [tick, setTick] = useState(0);

  const [screen, setScreen] = useState<Screen>(options.screen ?? "jobs");
  const [mine, setMine] = useState(!options.all);
  const [stateFilter, setStateFilter] = useState<StateFilter>(options.state);
  const [sort, setSort] = useState<JobSort>({ key: options.sort, descending: false });
  const [selectedJob, setSelectedJob] = useState<number | undefined>();
  const [jobIndex, setJobIndex] = useState(0);
  const [openJob, setOpenJob] = useState<number | undefined>();
  const [stepIndex, setStepIndex] = useState(0);
  const [logStep, setLogStep] = useState<{ jobId: number; stepId: number } | undefined>();
  const [logLines, setLogLines] = useState<LogLine[]>([]);
  const [logNote, setLogNote] = useState("");
  const [nodeIndex, setNodeIndex] = useState(0);
  const [backTo, setBackTo] = useState<Screen>("jobs");
  const [confirm, setConfirm] = useState<Confirm | undefined>();
  const [message, setMessage] = useState("");

  // The watch stream: coalesce redraws, so a burst of changes costs one sort.
  useEffect(() => {
    let timer: NodeJS.Timeout | undefined;
    const changed = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        setVersion((v) => v + 1);
      }, REDRAW_MS);
    };
    const stop = backend.watch(viewRef.current, changed, setStatus);
    return () => {
      if (timer) clearTimeout(timer);
      stop();
    };
  }, [backend]);

  // Elapsed times move; ended jobs leave the view after a while.
  useEffect(() => {
    const t = setInterval(() => {
      viewRef.current.prune();
      setTick((x) => x + 1);
    }, 1000);
    return () => clearInterval(t);
  }, []);

  // The log pane follows one step at a time.
  useEffect(() => {
    if (!logStep) return;
    setLogLines([]);
    setLogNote("following...");
    const stop = backend.followLog(
      logStep.jobId,
      logStep.stepId,
      (lines) => {
        setLogNote("following");
        setLogLines((prev) => {
          const next = prev.concat(lines);
          return next.length > LOG_KEEP ? next.slice(next.length - LOG_KEEP) : next;
        });
      },
      (why) => setLogNote(why || "ended"),
    );
    return stop;
  }, [backend, logStep?.jobId, logStep?.stepId]);

  const view = viewRef.current;
  const filter: JobFilter = { user: mine ? options.me : undefined, state: stateFilter, types: options.types, partition: options.partition };
  const jobs = useMemo(
    () => selectJobs(view.jobs.values(), filter, sort, view.serverNow()),
    [version, mine, stateFilter, sort, options.me, sort.key === "time" ? tick : 0],
  );
  const counts = useMemo(() => countJobs(view.jobs.values()), [version]);
  const nowMs = view.serverNow(now());

  // Keep the selection on the same job while rows move; fall back to the same position when it disappears.
  let sel = selectedJob === undefined ? -1 : jobs.findIndex((j) => j.jobId === selectedJob);
  if (sel < 0) sel = Math.min(jobIndex, jobs.length - 1);
  const opened = openJob === undefined ? undefined : view.jobs.get(openJob);
  const steps = opened ? visibleSteps(opened) : [];
  const stepSel = Math.min(stepIndex, Math.max(0, steps.length - 1));
  const nodes = [...view.nodes.values()];

  const ask = (question: string, run: () => Promise<string>, done: string) => {
    setMessage("");
    setConfirm({ question, run, done });
    live.current.confirm = { question, run, done };
  };

  const bodyRows = Math.max(3, (rows || 24) - 5);
  const page = Math.max(1, bodyRows - 2);

  // Keys that arrive together (a paste, a fast typist, tmux send-keys) are handled before React renders again:
  // the handler reads and updates this object, not the values captured by the last render.
  const live = useRef({ screen, sel, jobs, stepSel, steps, opened, confirm, logStep, backTo, nodeCount: nodes.length, nodeIndex });
  Object.assign(live.current, { screen, sel, jobs, stepSel, steps, opened, confirm, logStep, backTo, nodeCount: nodes.length, nodeIndex });

  const go = (next: Screen) => {
    live.current.screen = next;
    setScreen(next);
  };
  const selectJob = (i: number) => {
    const L = live.current;
    const k = Math.max(0, Math.min(i, L.jobs.length - 1));
    L.sel = k;
    setJobIndex(k);
    setSelectedJob(L.jobs[k]?.jobId);
  };
  const selectStep = (i: number) => {
    const L = live.current;
    L.stepSel = Math.max(0, Math.min(i, L.steps.length - 1));
    setStepIndex(L.stepSel);
  };
  const follow = (target: { jobId: number; stepId: number } | undefined) => {
    live.current.logStep = target;
    setLogStep(target);
  };

  const onKey = (input: string, key: Key) => {
    const L = live.current;
    if (L.confirm) {
      const c = L.confirm;
      L.confirm = undefined;
      setConfirm(undefined);
      if (input === "y" || input === "Y") {
        setMessage("working...");
        void c.run().then((err) => setMessage(err ? `failed: ${err}` : c.done));
      } else {
        setMessage("nothing done");
      }
      return;
    }
    if (input === "q" || (key.ctrl && input === "c")) {
      exit();
      return;
    }
    setMessage("");
    if (L.screen === "jobs") {
      const current = L.jobs[L.sel];
      if (key.downArrow || input === "j") selectJob(L.sel + 1);
      else if (key.upArrow || input === "k") selectJob(L.sel - 1);
      else if (key.pageDown || input === " ") selectJob(L.sel + page);
      else if (key.pageUp) selectJob(L.sel - page);
      else if (input === "g" || key.home) selectJob(0);
      else if (input === "G" || key.end) selectJob(L.jobs.length - 1);
      else if (key.return && current) {
        setSelectedJob(current.jobId);
        setOpenJob(current.jobId);
        L.opened = current;
        L.steps = visibleSteps(current);
        selectStep(0);
        follow(undefined);
        go("steps");
      } else if (input === "x" && current) {
        const j = current;
        ask(`Cancel job ${j.jobId} (${j.name})? [y/N]`, () => backend.cancel(j.jobId), `job ${j.jobId}: cancel requested`);
      } else if (input === "m") setMine((m) => !m);
      else if (input === "f") setStateFilter((s) => STATE_FILTERS[(STATE_FILTERS.indexOf(s) + 1) % STATE_FILTERS.length]!);
      else if (input === "o") setSort((s) => ({ ...s, key: SORT_KEYS[(SORT_KEYS.indexOf(s.key) + 1) % SORT_KEYS.length]! }));
      else if (input === "r") setSort((s) => ({ ...s, descending: !s.descending }));
      else if (input === "n" || key.tab) {
        L.backTo = "jobs";
        setBackTo("jobs");
        go("nodes");
      }
    } else if (L.screen === "steps") {
      const j = L.opened;
      const step = L.steps[L.stepSel];
      if (key.escape || key.leftArrow || key.backspace || input === "h") {
        follow(undefined);
        go("jobs");
      } else if (key.downArrow || input === "j") selectStep(L.stepSel + 1);
      else if (key.upArrow || input === "k") selectStep(L.stepSel - 1);
      else if ((key.return || input === "l") && j && step) {
        const same = L.logStep?.jobId === j.jobId && L.logStep.stepId === step.stepId;
        follow(same ? undefined : { jobId: j.jobId, stepId: step.stepId });
      } else if (input === "x" && j) {
        if (step && step.stepId >= 1) {
          ask(
            `Cancel step ${j.jobId}.${step.stepId} (${step.name})? [y/N]`,
            () => backend.cancel(j.jobId, step.stepId),
            `step ${j.jobId}.${step.stepId}: cancel requested`,
          );
        } else {
          ask(`Cancel job ${j.jobId} (${j.name})? [y/N]`, () => backend.cancel(j.jobId), `job ${j.jobId}: cancel requested`);
        }
      } else if (input === "s" && j && step) {
        if (stepKind(j, step) !== "container") setMessage(`step ${j.jobId}.${step.stepId} is not a container`);
        else {
          ask(
            `Stop container ${j.jobId}.${step.stepId} (SIGTERM, then SIGKILL)? [y/N]`,
            () => backend.cancel(j.jobId, step.stepId),
            `container ${j.jobId}.${step.stepId}: stop requested`,
          );
        }
      } else if (input === "n" || key.tab) {
        L.backTo = "steps";
        setBackTo("steps");
        go("nodes");
      }
    } else {
      if (key.downArrow || input === "j") {
        L.nodeIndex = Math.min(L.nodeIndex + 1, Math.max(0, L.nodeCount - 1));
        setNodeIndex(L.nodeIndex);
      } else if (key.upArrow || input === "k") {
        L.nodeIndex = Math.max(L.nodeIndex - 1, 0);
        setNodeIndex(L.nodeIndex);
      } else if (key.escape || input === "n" || key.tab || key.leftArrow || input === "h") go(L.backTo);
    }
  };

  useInput(
    (input, key) => {
      // Esc and the next key typed right after it reach us as one Alt+key sequence: take them apart.
      if (key.meta && !key.ctrl && input.length === 1 && !key.escape) {
        onKey("", { ...key, meta: false, escape: true });
        onKey(input, { ...key, meta: false });
        return;
      }
      // Several plain keys in one read (typed fast, pasted) arrive as one string: one key each.
      if (!key.meta && !key.ctrl && input.length > 1) {
        for (const ch of input) onKey(ch, key);
        return;
      }
      onKey(input, key);
    },
    { isActive: isRawModeSupported },
  );

  const width = Math.max(40, (columns || 100) - 1);
  const who = mine ? `mine (${options.me})` : "all users";
  const liveText = status ? `⚠ ${status}` : view.synced ? "● live" : "syncing...";
  const header =
    screen === "nodes"
      ? `${options.title ?? "crane top"} · nodes ${view.nodes.size} · partitions ${view.partitions.map((p) => p.name).join(",")}`
      : `${options.title ?? "crane top"} · jobs ${counts.total} (running ${counts.running}, pending ${counts.pending}) · showing ${jobs.length}: ${who}, ${stateFilter}, sort ${sort.key}${sort.descending ? " ↓" : " ↑"}`;

  return (
    <ColorContext.Provider value={options.color ?? true}>
      <Box flexDirection="column" width={width}>
        <Box>
          <Box flexGrow={1}>
            <Text bold wrap="truncate-end">
              {header}
            </Text>
          </Box>
          <Text color={status ? "red" : "green"}> {liveText}</Text>
        </Box>
        {screen === "jobs" && <JobsTable jobs={jobs} selected={sel} height={bodyRows} now={nowMs} width={width} />}
        {screen === "steps" &&
          (opened ? (
            <Box flexDirection="column">
              <StepsTable
                job={opened}
                steps={steps}
                selected={stepSel}
                now={nowMs}
                width={width}
                height={logStep ? Math.min(steps.length + 3, Math.floor(bodyRows / 2)) : bodyRows}
              />
              {logStep && (
                <LogPane
                  title={`log ${logStep.jobId}.${logStep.stepId}`}
                  note={logStep.stepId === 1 && opened.type === JobType.Batch ? "a batch script writes to its output file (cbatch -o), not here" : logNote}
                  lines={logLines}
                  height={Math.max(3, bodyRows - Math.min(steps.length + 3, Math.floor(bodyRows / 2)))}
                  width={width}
                />
              )}
            </Box>
          ) : (
            <Text color="yellow">job {openJob} is no longer known (it ended a while ago)</Text>
          ))}
        {screen === "nodes" && <NodesTable nodes={nodes} partitions={view.partitions} selected={nodeIndex} height={bodyRows} />}
        <Text color={confirm ? "yellow" : message.startsWith("failed") ? "red" : "white"} wrap="truncate-end">
          {confirm ? confirm.question : message || " "}
        </Text>
        <Footer screen={screen} />
      </Box>
    </ColorContext.Provider>
  );
}

const KEYS: Record<Screen, [string, string][]> = {
  jobs: [
    ["↑↓", "move"],
    ["⏎", "steps"],
    ["x", "cancel"],
    ["m", "mine/all"],
    ["f", "state"],
    ["o", "sort"],
    ["r", "reverse"],
    ["n", "nodes"],
    ["q", "quit"],
  ],
  steps: [
    ["↑↓", "move"],
    ["⏎", "log"],
    ["x", "cancel"],
    ["s", "stop container"],
    ["esc", "back"],
    ["n", "nodes"],
    ["q", "quit"],
  ],
  nodes: [
    ["↑↓", "move"],
    ["esc", "back"],
    ["q", "quit"],
  ],
};

function Footer({ screen }: { screen: Screen }) {
  return (
    <Box>
      <Text wrap="truncate-end">
        {KEYS[screen].map(([k, what], i) => (
          <Text key={k}>
            {i ? "  " : ""}
            <Text bold color="cyan">
              {k}
            </Text>{" "}
            {what}
          </Text>
        ))}
      </Text>
    </Box>
  );
}
