// A small disk (tmpfs) that a test fills up and empties again.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const FILLER = ".crane-test-filler";

/** Mounts a tmpfs of `size` (e.g. "8m") at `dir`, creating the directory. */
export function mountTmpfs(dir: string, size: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
}

/** Fills the disk under `dir` to the last block with one file. */
export function fillDisk(dir: string): void {
  try {
    execFileSync("dd", ["if=/dev/zero", `of=${path.join(dir, FILLER)}`, "bs=64k"], { stdio: "ignore" });
  } catch {
    // dd stops with ENOSPC: the disk is full, as intended
  }
}

/** Space returns: the filler goes. */
export function emptyDisk(dir: string): void {
  fs.rmSync(path.join(dir, FILLER), { force: true });
}

/** Unmounts (lazily, in case a process still holds a file there) and removes the mount point. */
export function unmountTmpfs(dir: string): void {
  execFileSync("umount", ["-l", dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}
