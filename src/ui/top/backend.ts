// What the `crane top` UI needs from the cluster, as an interface: the real one talks to ctld (watch stream,
// StreamStepLog, CancelJob); component tests pass a fake.
import { CancelJobRequest, StepLogRequest, type LogLine, type StepLogChunk } from "../../core/generated/crane/crane";
import { errMessage, type CtldConnection } from "../../core/cli/ctld";
import type { CraneCtldClient } from "../../core/generated/crane/services";
import { grpcErrorSuffix } from "../../core/rpc/status";
import { ClusterView, openWatch, type WatchRequest } from "../../core/cli/watch-client";

export interface TopBackend {
  /** Starts watching; `onChange` after each change to `view`, `onStatus` with "" when live or why it is not. */
  watch(view: ClusterView, onChange: () => void, onStatus: (status: string) => void): () => void;
  /** Follows a step's output live (the last lines first); returns a function that stops following. */
  followLog(jobId: number, stepId: number, onLines: (lines: LogLine[]) => void, onEnd: (why: string) => void): () => void;
  /** Cancels a job (stepId undefined) or a step / stops a container; resolves "" when done, else the reason. */
  cancel(jobId: number, stepId?: number): Promise<string>;
}

/** Lines of history shown when a log pane opens. */
export const LOG_TAIL = 200;

export function ctldBackend(ctld: CtldConnection, req: WatchRequest): TopBackend {
  return {
    watch(view, onChange, onStatus) {
      const w = openWatch(ctld, req, {
        onEvent(ev) {
          view.apply(ev);
          if (ev.synced || view.synced) onStatus("");
          onChange();
        },
        onDisconnect(reason, retryInMs) {
          onStatus(`${reason} (retrying in ${Math.ceil(retryInMs / 1000)} s)`);
        },
      });
      return () => w.close();
    },

    followLog(jobId, stepId, onLines, onEnd) {
      let stopped = false;
      let call: ReturnType<CraneCtldClient["streamStepLog"]> | undefined;
      void ctld.streams().then((client) => {
        if (stopped) return;
        call = client.streamStepLog(StepLogRequest.fromPartial({ jobId, stepId, follow: true, tail: LOG_TAIL }));
        follow(call);
      });
      const follow = (call: ReturnType<CraneCtldClient["streamStepLog"]>) => {
        call.on("data", (chunk: StepLogChunk) => {
          if (chunk.lines.length) onLines(chunk.lines);
          if (chunk.eof) onEnd(`step ended (exit code ${chunk.exitCode})`);
        });
        call.on("error", (e) => {
          if (!stopped) onEnd(`log unavailable: ${grpcErrorSuffix(e)}`);
        });
        call.on("end", () => {
          if (!stopped) onEnd("");
        });
      };
      return () => {
        stopped = true;
        call?.cancel();
      };
    },

    async cancel(jobId, stepId) {
      try {
        const req = CancelJobRequest.fromPartial({ jobIds: [{ jobId, stepIds: stepId === undefined ? [] : [stepId] }] });
        const r = await ctld.call("cancelJob", req, "Failed to cancel");
        if (r.notCancelled.length) return r.notCancelled.map((f) => f.reason).join("; ");
        return r.cancelled.length ? "" : errMessage(0);
      } catch (e) {
        return (e as Error).message;
      }
    },
  };
}
