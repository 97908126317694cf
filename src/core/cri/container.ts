// Containers inside a pod sandbox: one per container step of a job. Also ExecSync, which runs a command in one.
import {
  type Container,
  ContainerConfig,
  ContainerState,
  type ContainerStatus,
  type ContainerStatusResponse,
  type DeepPartial,
  ListContainersRequest,
  PodSandboxConfig,
} from "../generated/cri/api";
import { type CallOptions, type CriClient, CriError, isCriNotFound } from "./client";
import { shortId } from "./sandbox";

/**
 * Creates a container in a running sandbox and returns its id. `sandboxConfig` must be the config the sandbox
 * was run with (the runtime reads log_directory, labels and the cgroup parent from it).
 */
export async function createContainer(
  cri: CriClient,
  podSandboxId: string,
  config: DeepPartial<ContainerConfig>,
  sandboxConfig: DeepPartial<PodSandboxConfig>,
  opts: CallOptions = {},
): Promise<string> {
  const full = ContainerConfig.fromPartial(config);
  const op = opts.subject
    ? "create container"
    : `create container${full.metadata?.name ? ` "${full.metadata.name}"` : ""} in pod sandbox ${shortId(podSandboxId)}`;
  const res = await cri.runtimeCall(
    cri.runtime.createContainer,
    { podSandboxId, config: full, sandboxConfig: PodSandboxConfig.fromPartial(sandboxConfig) },
    op,
    opts,
  );
  return res.containerId;
}

export async function startContainer(cri: CriClient, containerId: string, opts: CallOptions = {}): Promise<void> {
  await cri.runtimeCall(cri.runtime.startContainer, { containerId }, `start container ${shortId(containerId)}`, opts);
}

/**
 * Sends SIGTERM (or the image's stop signal), then SIGKILL after `graceSeconds` (0 = SIGKILL at once).
 * The call deadline is extended by the grace period.
 */
export async function stopContainer(cri: CriClient, containerId: string, graceSeconds = 0, opts: CallOptions = {}): Promise<void> {
  const timeoutMs = (opts.timeoutMs ?? cri.timeoutMs) + graceSeconds * 1000;
  await cri.runtimeCall(cri.runtime.stopContainer, { containerId, timeout: BigInt(graceSeconds) }, `stop container ${shortId(containerId)}`, {
    ...opts,
    timeoutMs,
  });
}

/** Removes a container (killing it if it still runs); an unknown id is not an error. */
export async function removeContainer(cri: CriClient, containerId: string, opts: CallOptions = {}): Promise<void> {
  await cri.runtimeCall(cri.runtime.removeContainer, { containerId }, `remove container ${shortId(containerId)}`, opts);
}

/** Status of a container, or undefined when the runtime does not know it. `verbose` adds info.info (JSON, with pid). */
export async function containerStatus(
  cri: CriClient,
  containerId: string,
  opts: CallOptions & { verbose?: boolean } = {},
): Promise<ContainerStatusResponse | undefined> {
  try {
    return await cri.runtimeCall(
      cri.runtime.containerStatus,
      { containerId, verbose: opts.verbose ?? false },
      `get status of container ${shortId(containerId)}`,
      opts,
    );
  } catch (err) {
    if (isCriNotFound(err)) return undefined;
    throw err;
  }
}

/** The host pid of a running container's first process (from verbose status), or undefined. */
export async function containerPid(cri: CriClient, containerId: string, opts: CallOptions = {}): Promise<number | undefined> {
  const res = await containerStatus(cri, containerId, { ...opts, verbose: true });
  const info = res?.info.info;
  if (!info) return undefined;
  try {
    const pid = (JSON.parse(info) as { pid?: unknown }).pid;
    return typeof pid === "number" && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface ContainerFilterOptions {
  /** Every label must match exactly. */
  labels?: Record<string, string>;
  podSandboxId?: string;
  state?: ContainerState;
  id?: string;
}

export async function listContainers(cri: CriClient, filter: ContainerFilterOptions = {}, opts: CallOptions = {}): Promise<Container[]> {
  const request = ListContainersRequest.fromPartial({
    filter: {
      id: filter.id ?? "",
      podSandboxId: filter.podSandboxId ?? "",
      labelSelector: filter.labels ?? {},
      state: filter.state === undefined ? undefined : { state: filter.state },
    },
  });
  const res = await cri.runtimeCall(cri.runtime.listContainers, request, "list containers", opts);
  return res.containers;
}

export interface WaitExitOptions extends CallOptions {
  /** Poll interval (default 100 ms). */
  intervalMs?: number;
  /** Give up after this long (default: never). */
  waitMs?: number;
  signal?: AbortSignal;
}

/**
 * Polls ContainerStatus until the container has exited and returns its final status (exit code, reason
 * "OOMKilled"...). Fails if the container disappears, the wait times out or the signal aborts.
 */
export async function waitContainerExit(cri: CriClient, containerId: string, opts: WaitExitOptions = {}): Promise<ContainerStatus> {
  const interval = opts.intervalMs ?? 100;
  const deadline = opts.waitMs === undefined ? Infinity : Date.now() + opts.waitMs;
  const op = `wait for container ${shortId(containerId)} to exit`;
  for (;;) {
    opts.signal?.throwIfAborted();
    const res = await containerStatus(cri, containerId, opts);
    if (!res?.status) throw new CriError(op, opts.subject, "the container no longer exists", undefined);
    if (res.status.state === ContainerState.CONTAINER_EXITED) return res.status;
    if (Date.now() + interval > deadline) {
      throw new CriError(op, opts.subject, `still running after ${opts.waitMs} ms`, undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/**
 * Runs a command in a running container and waits for it. `timeoutSeconds` (0 = none) is enforced by the
 * runtime; the call deadline is that plus the usual call timeout.
 */
export async function execSync(
  cri: CriClient,
  containerId: string,
  cmd: string[],
  opts: CallOptions & { timeoutSeconds?: number } = {},
): Promise<ExecSyncResult> {
  const seconds = opts.timeoutSeconds ?? 0;
  const timeoutMs = seconds > 0 ? (opts.timeoutMs ?? cri.timeoutMs) + seconds * 1000 : (opts.timeoutMs ?? 24 * 3600 * 1000);
  const res = await cri.runtimeCall(cri.runtime.execSync, { containerId, cmd, timeout: BigInt(seconds) }, `exec in container ${shortId(containerId)}`, {
    ...opts,
    timeoutMs,
  });
  return { stdout: Buffer.from(res.stdout), stderr: Buffer.from(res.stderr), exitCode: res.exitCode };
}
