// crane's CRI client, split by concern like kubelet's kuberuntime: one file each for the connection, pod
// sandboxes, containers, images, logs, streaming and events; oci-image builds the local busybox/pause image.
export {
  connectCri,
  CriClient,
  CriError,
  criErrorCode,
  criErrorMessage,
  criTarget,
  isCriNotFound,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_PULL_TIMEOUT_MS,
  type CallOptions,
  type CriClientOptions,
} from "./client";
export {
  destroyPodSandbox,
  listPodSandboxes,
  podSandboxStatus,
  removePodSandbox,
  runPodSandbox,
  shortId,
  stopPodSandbox,
  type PodSandboxFilterOptions,
  type RunPodSandboxOptions,
} from "./sandbox";
export {
  containerPid,
  containerStatus,
  createContainer,
  execSync,
  listContainers,
  removeContainer,
  startContainer,
  stopContainer,
  waitContainerExit,
  type ContainerFilterOptions,
  type ExecSyncResult,
  type WaitExitOptions,
} from "./container";
export {
  ensureImage,
  imageStatus,
  ImageNotPresentError,
  listImages,
  parsePullPolicy,
  pullImage,
  PULL_POLICIES,
  removeImage,
  type EnsuredImage,
  type PullOptions,
  type PullPolicy,
  type RegistryAuth,
} from "./image";
export {
  followCriLog,
  formatCriLogLine,
  formatRfc3339Nano,
  joinPartialLines,
  parseCriLogLine,
  parseRfc3339Nano,
  readCriLog,
  type CriLogFollower,
  type CriLogLine,
  type FollowLogOptions,
  type LogFilter,
  type LogStream,
  type ReadLogOptions,
} from "./logs";
export { signalContainer } from "./signal";
export { exitCodeFromStatus, getAttachUrl, getExecUrl, STREAM_PROTOCOLS, StreamChannel, type StreamSelection } from "./streaming";
export { supportsContainerEvents, watchContainerEvents, type ContainerEventHandlers, type ContainerEventSubscription } from "./events";
export { BUSYBOX_IMAGE, PAUSE_IMAGE, buildBusyboxImageLayout, busyboxFingerprint, writeBusyboxImageTar, type BuildBusyboxImageOptions } from "./oci-image";
// The generated message types and enums crane code builds requests with.
export {
  ContainerState,
  NamespaceMode,
  PodSandboxState,
  Protocol,
  MountPropagation,
  ContainerEventType,
  type Container,
  type ContainerConfig,
  type ContainerStatus,
  type DeepPartial,
  type Image,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxStatus,
} from "../generated/cri/api";
