// A TopBackend for component tests: the test pushes watch events and log lines, and sees the cancels asked for.
import { ClusterEvent, JobInfo, JobStatus, JobType, LogLine, NodeInfo, StepInfo } from "../../../src/core/generated/crane/crane";
import type { ClusterView } from "../../../src/core/cli/watch-client";
import type { TopBackend } from "../../../src/ui/top/backend";

export class FakeBackend implements TopBackend {
  view?: ClusterView;
  private onChange = () => {};
  status: (s: string) => void = () => {};
  cancels: { jobId: number; stepId?: number }[] = [];
  cancelReply = "";
  logs = new Map<string, { onLines: (l: LogLine[]) => void; onEnd: (why: string) => void; stopped: boolean }>();

  watch(view: ClusterView, onChange: () => void, onStatus: (s: string) => void): () => void {
    this.view = view;
    this.onChange = onChange;
    this.status = onStatus;
    return () => {};
  }

  emit(ev: Partial<ClusterEvent>): void {
    this.view!.apply(ClusterEvent.fromPartial({ nowMs: Date.now(), ...ev }));
    this.status("");
    this.onChange();
  }

  followLog(jobId: number, stepId: number, onLines: (l: LogLine[]) => void, onEnd: (why: string) => void): () => void {
    const entry = { onLines, onEnd, stopped: false };
    this.logs.set(`${jobId}.${stepId}`, entry);
    return () => {
      entry.stopped = true;
    };
  }

  log(key: string, ...texts: string[]): void {
    const l = this.logs.get(key);
    if (!l) throw new Error(`nobody follows the log of ${key}`);
    l.onLines(texts.map((t) => LogLine.fromPartial({ stream: "stdout", data: Buffer.from(t), time: "" })));
  }

  async cancel(jobId: number, stepId?: number): Promise<string> {
    this.cancels.push({ jobId, stepId });
    return this.cancelReply;
  }
}

export function job(id: number, over: Partial<JobInfo> = {}): JobInfo {
  return JobInfo.fromPartial({
    jobId: id,
    name: `job${id}`,
    username: "alice",
    partition: "CPU",
    status: JobStatus.Pending,
    pendingReason: "Priority",
    type: JobType.Batch,
    ...over,
  });
}

export function running(id: number, over: Partial<JobInfo> = {}): JobInfo {
  return job(id, {
    status: JobStatus.Running,
    pendingReason: "",
    nodes: ["n1"],
    startTime: Date.now() - 65_000,
    timeLimitSeconds: 3600,
    steps: [StepInfo.fromPartial({ jobId: id, stepId: 1, name: "batch", status: JobStatus.Running, nodes: ["n1"], type: JobType.Batch })],
    ...over,
  });
}

export function node(name: string, over: Partial<NodeInfo> = {}): NodeInfo {
  return NodeInfo.fromPartial({
    name,
    state: "mix",
    partitions: ["CPU"],
    total: { cpu: 4, memoryBytes: 8 * 2 ** 30, gres: { "gpu:a100": 2 } },
    allocated: { cpu: 1, memoryBytes: 2 * 2 ** 30, gres: { "gpu:a100": 1 } },
    ...over,
  });
}
