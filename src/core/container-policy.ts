// What a user's container may be, decided by the servers and not by the request: ctld checks it at admission
// (so a refusal reaches the user at once) and the supervisor checks it again on the node, against the node's own
// file system, before anything is created. The CLI's checks only make the errors friendlier.
//
// Root's jobs are not limited. For everyone else:
//   - a container runs as the job's uid and gid, unless it is in a user namespace (its root is then an unprivileged
//     host uid), so run_as_user / run_as_group may name other ids only there;
//   - host network and host ports below 1024 are for administrators (root and AdminUids);
//   - host paths may be mounted only under Container.AllowedMountPaths.
import fs from "node:fs";
import path from "node:path";
import type { ContainerConfig } from "./config";
import { PodMeta_NetworkMode, type ContainerMeta, type PodMeta } from "./generated/crane/crane";

export interface PolicySubject {
  uid: number;
  gid: number;
  /** The user's home directory ("" when unknown: {home} then allows nothing). */
  home: string;
  /** The directory the job or step was submitted from ("" when unknown). */
  submitDir: string;
  /** Root or one of AdminUids. */
  isAdmin: boolean;
}

export class PolicyViolation extends Error {}

/** The directories the subject may mount, placeholders filled in. */
export function allowedMountRoots(config: ContainerConfig, subject: PolicySubject): string[] {
  const roots: string[] = [];
  for (const p of config.allowedMountPaths) {
    const filled = p.replaceAll("{home}", subject.home).replaceAll("{submit_dir}", subject.submitDir);
    // A placeholder without a value would leave a relative path or "/" behind: it allows nothing.
    if ((p.includes("{home}") && !subject.home) || (p.includes("{submit_dir}") && !subject.submitDir)) continue;
    if (path.isAbsolute(filled)) roots.push(path.posix.normalize(filled));
  }
  return roots;
}

export function isUnder(p: string, root: string): boolean {
  return root === "/" || p === root || p.startsWith(root.endsWith("/") ? root : `${root}/`);
}

/** Checks a pod and its container against the policy; throws PolicyViolation naming the rule and the config key. */
export function checkContainerPolicy(pod: PodMeta | undefined, container: ContainerMeta | undefined, subject: PolicySubject, config: ContainerConfig): void {
  if (subject.uid === 0) return;
  const userns = pod?.userns ?? false;
  if (!userns && pod?.runAsUser !== undefined && pod.runAsUser !== subject.uid) {
    throw new PolicyViolation(
      `--user ${pod.runAsUser}: outside a user namespace a container runs as the job's own user (uid ${subject.uid}); use --userns for a root inside the container`,
    );
  }
  if (!userns && pod?.runAsGroup !== undefined && pod.runAsGroup !== subject.gid) {
    throw new PolicyViolation(`group ${pod.runAsGroup}: outside a user namespace a container runs with the job's own group (gid ${subject.gid})`);
  }
  if (!subject.isAdmin && pod?.network === PodMeta_NetworkMode.NODE) {
    throw new PolicyViolation("--network host is for administrators only (root and AdminUids in the config)");
  }
  for (const p of pod?.ports ?? []) {
    if (!subject.isAdmin && p.hostPort > 0 && p.hostPort < 1024) {
      throw new PolicyViolation(`host port ${p.hostPort} is below 1024: for administrators only (root and AdminUids); use a port of 1024 or above`);
    }
  }
  const roots = allowedMountRoots(config, subject);
  for (const m of container?.mounts ?? []) {
    if (!path.isAbsolute(m.hostPath) || m.hostPath.includes("\0")) throw new PolicyViolation(`mount source "${m.hostPath}" must be an absolute path`);
    if (!path.isAbsolute(m.containerPath) || m.containerPath.includes("\0"))
      throw new PolicyViolation(`mount target "${m.containerPath}" must be an absolute path`);
    const host = path.posix.normalize(m.hostPath);
    if (!roots.some((r) => isUnder(host, r))) throw new PolicyViolation(mountRefusal(m.hostPath, roots));
  }
}

function mountRefusal(hostPath: string, roots: string[]): string {
  const allowed = roots.length ? roots.join(", ") : "nothing";
  return `host path ${hostPath} may not be mounted: containers may mount only under ${allowed} (Container.AllowedMountPaths)`;
}

/**
 * The node's half of the mount rule: each host path with its symbolic links resolved on this node, checked against
 * the resolved allowed roots. A missing path is refused, since the runtime would create it as root.
 */
export function resolveMountsOnNode(container: ContainerMeta, subject: PolicySubject, config: ContainerConfig): ContainerMeta["mounts"] {
  if (subject.uid === 0) return container.mounts;
  const roots = allowedMountRoots(config, subject).flatMap((r) => {
    try {
      return [fs.realpathSync(r)];
    } catch {
      return [];
    }
  });
  return container.mounts.map((m) => {
    let real: string;
    try {
      real = fs.realpathSync(m.hostPath);
    } catch {
      throw new PolicyViolation(`host path ${m.hostPath} does not exist on this node (crane does not create mount sources)`);
    }
    if (!roots.some((r) => isUnder(real, r))) throw new PolicyViolation(mountRefusal(real === m.hostPath ? real : `${m.hostPath} (${real})`, roots));
    return { ...m, hostPath: real };
  });
}
