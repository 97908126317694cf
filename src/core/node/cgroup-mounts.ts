// Every cgroup hierarchy mounted on this machine, also those crane does not manage (cgroup v1 "name=systemd", the
// hybrid "unified" cgroup2): runc creates a pod's cgroup parent (the job's cgroup, and so its node's and cluster's
// levels) in all of them, and what it leaves there is crane's to remove.
import fs from "node:fs";
import path from "node:path";

export function cgroupMountPoints(): string[] {
  const points: string[] = [];
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    const fsType = right?.split(" ")[0];
    const mountPoint = left?.split(" ")[4];
    if (mountPoint && (fsType === "cgroup" || fsType === "cgroup2")) points.push(mountPoint);
  }
  return points;
}

/** The directories of a cgroup path in every mounted hierarchy. */
export function cgroupDirsEverywhere(rel: string): string[] {
  return [...new Set(cgroupMountPoints().map((m) => path.join(m, rel)))];
}
