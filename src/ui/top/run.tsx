// Entry of `crane top` / `ccon top`: the Ink app on a terminal, one plain snapshot otherwise. Loaded lazily by the
// commands, so that no other command pays for React and Ink.
import { render } from "ink";
import type { CtldConnection } from "../../core/cli/ctld";
import { yogaReady } from "../yoga-ready";
import { ctldBackend } from "./backend";
import { TopApp, type TopOptions } from "./App";
import { readSnapshot, snapshotText } from "./snapshot";

export interface RunTopOptions extends TopOptions {
  /** Print one snapshot and exit even on a terminal. */
  once: boolean;
  /** Coalescing window asked of ctld, ms (0 = its default). */
  intervalMs: number;
}

export async function runTop(ctld: CtldConnection, opts: RunTopOptions): Promise<void> {
  const interactive = !opts.once && !!process.stdout.isTTY && !!process.stdin.isTTY;
  if (!interactive) {
    const nodesOnly = opts.screen === "nodes";
    const what = { jobs: !nodesOnly, nodes: nodesOnly || !opts.types?.length };
    const view = await readSnapshot(ctld, what);
    const filter = { user: opts.all ? undefined : opts.me, state: opts.state, types: opts.types, partition: opts.partition };
    process.stdout.write(snapshotText(view, filter, { key: opts.sort, descending: false }, what));
    return;
  }
  await yogaReady();
  const backend = ctldBackend(ctld, { jobs: true, nodes: true, intervalMs: opts.intervalMs });
  // interactive is explicit: Ink would otherwise fall back to printing frames when CI=true is in the environment.
  const app = render(<TopApp backend={backend} options={opts} />, {
    alternateScreen: true,
    interactive: true,
    exitOnCtrlC: true,
    patchConsole: true,
    maxFps: 20,
  });
  await app.waitUntilExit();
}
