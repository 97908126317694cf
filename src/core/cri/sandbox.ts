// Pod sandboxes: the per-node pod of a container job (created by its daemon step, holding every container step).
import {
  type DeepPartial,
  ListPodSandboxRequest,
  type PodSandbox,
  PodSandboxConfig,
  type PodSandboxState,
  type PodSandboxStatusResponse,
} from "../generated/cri/api";
import { type CallOptions, type CriClient, isCriNotFound } from "./client";

export interface RunPodSandboxOptions extends CallOptions {
  /** containerd runtime handler ("" = default runc). */
  runtimeHandler?: string;
}

/** First 12 characters of a runtime id, as used in messages. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** Creates and starts a pod sandbox; returns its id. int64 fields accept numbers, strings or bigints. */
export async function runPodSandbox(cri: CriClient, config: DeepPartial<PodSandboxConfig>, opts: RunPodSandboxOptions = {}): Promise<string> {
  const full = PodSandboxConfig.fromPartial(config);
  const op = opts.subject || !full.metadata?.name ? "run pod sandbox" : `run pod sandbox "${full.metadata.name}"`;
  const res = await cri.runtimeCall(cri.runtime.runPodSandbox, { config: full, runtimeHandler: opts.runtimeHandler ?? "" }, op, opts);
  return res.podSandboxId;
}

/** Stops the sandbox and every container in it (they are killed at once). Stopping twice is not an error. */
export async function stopPodSandbox(cri: CriClient, podSandboxId: string, opts: CallOptions = {}): Promise<void> {
  await cri.runtimeCall(cri.runtime.stopPodSandbox, { podSandboxId }, `stop pod sandbox ${shortId(podSandboxId)}`, opts);
}

/** Removes a sandbox and its containers (stopping them first); removing an unknown id is not an error. */
export async function removePodSandbox(cri: CriClient, podSandboxId: string, opts: CallOptions = {}): Promise<void> {
  await cri.runtimeCall(cri.runtime.removePodSandbox, { podSandboxId }, `remove pod sandbox ${shortId(podSandboxId)}`, opts);
}

/** Stops then removes; tolerates a sandbox that is already gone. */
export async function destroyPodSandbox(cri: CriClient, podSandboxId: string, opts: CallOptions = {}): Promise<void> {
  try {
    await stopPodSandbox(cri, podSandboxId, opts);
  } catch (err) {
    if (!isCriNotFound(err)) throw err;
  }
  await removePodSandbox(cri, podSandboxId, opts);
}

/** Status of a sandbox, or undefined when the runtime does not know it. `verbose` fills `info` (JSON values). */
export async function podSandboxStatus(
  cri: CriClient,
  podSandboxId: string,
  opts: CallOptions & { verbose?: boolean } = {},
): Promise<PodSandboxStatusResponse | undefined> {
  try {
    return await cri.runtimeCall(
      cri.runtime.podSandboxStatus,
      { podSandboxId, verbose: opts.verbose ?? false },
      `get status of pod sandbox ${shortId(podSandboxId)}`,
      opts,
    );
  } catch (err) {
    if (isCriNotFound(err)) return undefined;
    throw err;
  }
}

export interface PodSandboxFilterOptions {
  /** Every label must match exactly. */
  labels?: Record<string, string>;
  state?: PodSandboxState;
  id?: string;
}

/** Sandboxes matching all given filters (all sandboxes without filters). */
export async function listPodSandboxes(cri: CriClient, filter: PodSandboxFilterOptions = {}, opts: CallOptions = {}): Promise<PodSandbox[]> {
  const request = ListPodSandboxRequest.fromPartial({
    filter: {
      id: filter.id ?? "",
      labelSelector: filter.labels ?? {},
      state: filter.state === undefined ? undefined : { state: filter.state },
    },
  });
  const res = await cri.runtimeCall(cri.runtime.listPodSandbox, request, "list pod sandboxes", opts);
  return res.items;
}
