// The CRI configuration of a job's pod on this node and of its containers, built from what ctld sent.
// Kept in one place because every container must be created with the exact config its pod was run with.
import path from "node:path";
import type { DeepPartial, PodSandboxConfig, ContainerConfig, LinuxContainerSecurityContext, NamespaceOption } from "../../core/generated/cri/api";
import { NamespaceMode } from "../../core/generated/cri/api";
import { PodMeta_NetworkMode, type Mount, type StepToD } from "../../core/generated/crane/crane";
import type { StepSpec } from "../../core/node/layout";
import type { StepCredentials } from "./credentials";

/** Labels on every pod and container crane creates, so leftovers can always be found. */
export function craneLabels(step: StepToD, spec: StepSpec): Record<string, string> {
  return {
    "crane.cluster": spec.clusterName,
    "crane.job": String(step.jobId),
    "crane.node": spec.node,
    "crane.uid": String(step.uid),
    "crane.user": step.username,
  };
}

/** A DNS-1123 label: lower case letters, digits and '-', at most 63 characters. */
export function dnsLabel(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 63)
      .replace(/-+$/, "") || "pod"
  );
}

function namespaces(step: StepToD, spec: StepSpec): DeepPartial<NamespaceOption> {
  const hostNet = step.podMeta?.network === PodMeta_NetworkMode.NODE;
  const ns: DeepPartial<NamespaceOption> = {
    network: hostNet ? NamespaceMode.NODE : NamespaceMode.POD,
    pid: NamespaceMode.CONTAINER,
    ipc: NamespaceMode.POD,
  };
  if (step.podMeta?.userns) {
    const start = spec.container.userNsHostIdStart;
    const range = [{ hostId: start, containerId: 0, length: 65536 }];
    ns.usernsOptions = { mode: NamespaceMode.POD, uids: range, gids: range };
  }
  return ns;
}

/** The ids a root job's container, or one in a user namespace, asked for (inside the namespace, there). */
function requestedRunAs(step: StepToD): { runAsUser?: { value: bigint }; runAsGroup?: { value: bigint } } {
  const pm = step.podMeta;
  return {
    runAsUser: pm?.runAsUser !== undefined ? { value: BigInt(pm.runAsUser) } : undefined,
    runAsGroup: pm?.runAsGroup !== undefined ? { value: BigInt(pm.runAsGroup) } : undefined,
  };
}

/**
 * The container's security, set by the node and not by the request: a user's container runs as the job's uid and
 * gid with exactly the user's groups, no new privileges and no capabilities at all (an empty bounding set, so a
 * setuid binary in the image gains nothing). In a user namespace its ids and capabilities are the namespace's,
 * unprivileged on the host. Root's jobs get what they ask for.
 */
export function containerSecurity(step: StepToD, spec: StepSpec, who: StepCredentials): DeepPartial<LinuxContainerSecurityContext> {
  const namespaceOptions = namespaces(step, spec);
  if (who.uid === 0) return { namespaceOptions, ...requestedRunAs(step) };
  if (step.podMeta?.userns) return { namespaceOptions, ...requestedRunAs(step), noNewPrivs: true, privileged: false };
  return {
    namespaceOptions,
    runAsUser: { value: BigInt(who.uid) },
    runAsGroup: { value: BigInt(who.gid) },
    supplementalGroups: who.groups.map(BigInt),
    noNewPrivs: true,
    privileged: false,
    capabilities: { addCapabilities: [], dropCapabilities: ["ALL"] },
  };
}

export function podLogDir(spec: StepSpec, jobId: number): string {
  return path.join(spec.stateDir, "logs", String(jobId));
}

export function podSandboxConfig(step: StepToD, spec: StepSpec): DeepPartial<PodSandboxConfig> {
  const pm = step.podMeta;
  const hostNet = pm?.network === PodMeta_NetworkMode.NODE;
  const name = dnsLabel(`job-${step.jobId}-${spec.node}`);
  const hostname = dnsLabel(`${pm?.name || step.jobName || `job-${step.jobId}`}-${spec.node}`);
  const servers = [...(pm?.dnsServers ?? []), ...spec.container.dnsServers];
  return {
    metadata: { name, uid: `crane-${step.jobId}-${spec.node}`, namespace: "crane", attempt: 0 },
    // A host-network pod shares the node's UTS namespace: it keeps the node's host name.
    hostname: hostNet ? "" : hostname,
    logDirectory: podLogDir(spec, step.jobId),
    dnsConfig: servers.length ? { servers, searches: [spec.container.clusterDomain, ...spec.container.dnsSearches].filter(Boolean), options: [] } : undefined,
    portMappings: hostNet
      ? []
      : (pm?.ports ?? []).map((p) => ({ protocol: p.protocol === "UDP" ? 1 : 0, containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIp })),
    labels: { ...craneLabels(step, spec), "crane.step": "0" },
    annotations: { "crane.io/job-name": step.jobName, "crane.io/pod-name": pm?.name ?? "" },
    linux: {
      cgroupParent: spec.jobCgroup,
      // The pod's own (pause) process runs what the runtime is configured with; users' code runs only in containers.
      securityContext: { namespaceOptions: namespaces(step, spec), ...(step.uid === 0 ? requestedRunAs(step) : {}) },
    },
  };
}

export function containerConfig(
  step: StepToD,
  spec: StepSpec,
  env: Record<string, string>,
  imageRef: string,
  who: StepCredentials,
  /** The mounts as checked and resolved on this node (container-policy.ts). */
  mounts: Mount[],
): DeepPartial<ContainerConfig> {
  const cm = step.containerMeta!;
  const res = step.stepRes ?? step.jobRes;
  const period = 100_000;
  // Job variables win over the user's -e, as for every other kind of step.
  const envs = { ...cm.env, ...env };
  return {
    metadata: { name: dnsLabel(cm.name || `step-${step.stepId}`), attempt: 0 },
    image: { image: imageRef },
    command: cm.command,
    args: cm.args,
    workingDir: cm.workdir,
    envs: Object.entries(envs).map(([key, value]) => ({ key, value })),
    mounts: mounts.map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly })),
    devices: step.deviceFiles.map((f) => ({ containerPath: f, hostPath: f, permissions: "rwm" })),
    labels: { ...craneLabels(step, spec), "crane.step": String(step.stepId) },
    logPath: `${step.stepId}.log`,
    stdin: cm.stdin,
    stdinOnce: cm.stdinOnce,
    tty: cm.tty,
    linux: {
      resources: res
        ? {
            cpuPeriod: BigInt(period),
            cpuQuota: BigInt(Math.max(1000, Math.round(res.cpu * period))),
            cpuShares: BigInt(Math.max(2, Math.round(res.cpu * 1024))),
            memoryLimitInBytes: BigInt(res.memoryBytes),
          }
        : undefined,
      securityContext: containerSecurity(step, spec, who),
    },
  };
}
