// `crane top` without a terminal: one snapshot from the watch stream, printed as plain tables, then exit.
import type { CtldConnection } from "../../core/cli/ctld";
import { CliError, ExitCode } from "../../core/cli/errors";
import { renderTable } from "../../core/cli/table";
import { ClusterView, openWatch } from "../../core/cli/watch-client";
import { JOB_COLUMNS, jobCells, nodeUsage, selectJobs, sortedNodes, usageText, type JobFilter, type JobSort } from "./model";

/** Reads the watch stream until its snapshot is complete. */
export function readSnapshot(ctld: CtldConnection, want: { jobs: boolean; nodes: boolean }, timeoutMs = 60_000): Promise<ClusterView> {
  const view = new ClusterView();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      w.close();
      reject(new CliError(`Failed to read the cluster state: ${last || "no answer from ctld"}`, ExitCode.Network));
    }, timeoutMs);
    let last = "";
    const w = openWatch(
      ctld,
      { ...want, intervalMs: 0 },
      {
        onEvent(ev) {
          view.apply(ev);
          if (!view.synced) return;
          clearTimeout(timer);
          w.close();
          resolve(view);
        },
        onDisconnect(reason) {
          last = reason;
        },
      },
    );
  });
}

export function snapshotText(view: ClusterView, filter: JobFilter, sort: JobSort, what: { jobs: boolean; nodes: boolean }): string {
  const now = view.serverNow();
  const out: string[] = [];
  if (what.jobs) {
    const rows = selectJobs(view.jobs.values(), filter, sort, now).map((j) => jobCells(j, now));
    out.push(renderTable([...JOB_COLUMNS], rows).trimEnd());
  }
  if (what.nodes) {
    const rows = sortedNodes(view.nodes.values()).map((n) => {
      const u = nodeUsage(n);
      return [n.name, n.state, n.partitions.join(","), usageText(u.cpu, "cpu"), usageText(u.mem, "mem"), usageText(u.gpu, "gpu"), n.reason];
    });
    if (out.length) out.push("");
    out.push(renderTable(["NODE", "STATE", "PARTITIONS", "CPU", "MEMORY", "GPU", "REASON"], rows).trimEnd());
  }
  return `${out.join("\n")}\n`;
}
