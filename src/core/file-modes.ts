// Modes of the daemons' state (design.md, "Who is trusted": state is 0700/0600). Directories are created with their
// mode and chmod-ed at every start, so an install made before this rule is fixed by a restart; only the named
// directory is changed, never its parents (a user may need to traverse those, e.g. to a job's batch script).
import fs from "node:fs";
import path from "node:path";

/** Owner only. */
export const PRIVATE_DIR = 0o700;
/** Owner only, except that others may reach a path inside whose name they know (no listing). */
export const TRAVERSE_ONLY_DIR = 0o711;
export const PRIVATE_FILE = 0o600;

/** Creates `dir` (and missing parents, with the default mode) and gives `dir` itself `mode`. */
export function ensureDirMode(dir: string, mode: number): void {
  fs.mkdirSync(dir, { recursive: true });
  chmodIfExists(dir, mode);
}

/** Sets the mode of a file that may not exist (yet). */
export function chmodIfExists(file: string, mode: number): void {
  try {
    if ((fs.statSync(file).mode & 0o7777) !== mode) fs.chmodSync(file, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/** Runs `fn` with the process umask set to `mask` (files it creates get no more than ~mask), then restores it. */
export function withUmask<T>(mask: number, fn: () => T): T {
  const before = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(before);
  }
}

/** The SQLite database `file` and its -wal, -shm and -journal companions: owner read/write only. */
export function privateDatabaseFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) chmodIfExists(f, PRIVATE_FILE);
}

/**
 * craned's state directory and its runtime directory hold other users' step specs (environment), scripts, pod records
 * and logs: owner only. A batch script is opened by the launch's root part and reaches the user's interpreter as an
 * open file (supervisor/launch.ts), so no user needs a way in.
 */
export function cranedStateDirModes(stateDir: string): void {
  chmodIfExists(stateDir, PRIVATE_DIR);
  ensureDirMode(path.join(stateDir, "logs"), PRIVATE_DIR);
}

/**
 * craned's runtime directory (core/node/layout.ts) may sit under a directory everyone writes to (/dev/shm): refused
 * unless this user owns it and every directory above it, and no one else can rename what is in any of them (not
 * writable by group or others, or sticky). Checked before anything is made in it (so a link planted there leads
 * root nowhere) and again after; its subdirectories are then made owner only, as in the state directory.
 */
export function cranedRuntimeDirModes(runtimeDir: string, subdirs: string[]): void {
  assertOnlyOwnerCanChange(runtimeDir);
  for (const d of subdirs) ensureDirMode(path.join(runtimeDir, d), PRIVATE_DIR);
  assertOnlyOwnerCanChange(runtimeDir);
  chmodIfExists(runtimeDir, PRIVATE_DIR);
}

/** Throws unless `target` (or, when it is not there yet, the nearest directory above it) is safe as said above. */
function assertOnlyOwnerCanChange(target: string): void {
  const me = process.geteuid?.() ?? 0;
  let existing = path.resolve(target);
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  for (let dir = fs.realpathSync(existing); ; dir = path.dirname(dir)) {
    const st = fs.lstatSync(dir);
    const othersMayRename = (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0;
    if (st.uid !== me || othersMayRename) {
      const why = st.uid !== me ? `belongs to uid ${st.uid}` : "is writable by other users and not sticky";
      throw new Error(`the runtime directory ${target} is not safe: ${dir} ${why}; remove it or set CranedRuntimeDir to a directory of root's`);
    }
    if (dir === path.dirname(dir)) break;
  }
}
