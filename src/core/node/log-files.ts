// A step's log on its node: the file being written (`<step>.log`, by the supervisor for a process step, by the
// runtime for a container) and the files rotated out of it once it reached Craned.LogMaxSize: `<step>.log.1` the
// most recent, up to `<step>.log.<LogMaxFiles>`. The supervisor rotates; craned reads the kept files, then the
// current one, in order, and a follower moves on to the next file when its file is rotated away.
import fs from "node:fs";

/** Craned.LogMaxSize (bytes of one file, 0 = no cap) and Craned.LogMaxFiles (rotated files kept). */
export interface LogLimits {
  maxBytes: number;
  maxFiles: number;
}

export function rotatedLogPath(file: string, n: number): string {
  return `${file}.${n}`;
}

function exists(file: string): boolean {
  return fs.existsSync(file);
}

/** The rotated files that exist, newest first (`.1`, `.2`, ...: stops at the first one missing). */
function rotatedFiles(file: string): string[] {
  const out: string[] = [];
  for (let n = 1; exists(rotatedLogPath(file, n)); n++) out.push(rotatedLogPath(file, n));
  return out;
}

/** The step's log files that exist, oldest first: the kept rotated files, then the current one. */
export function stepLogFiles(file: string): string[] {
  const files = rotatedFiles(file).reverse();
  if (exists(file)) files.push(file);
  return files;
}

/**
 * Moves the current file aside as `.1`, shifting the older ones and deleting those beyond `maxFiles` (with 0, the
 * current file is deleted). The writer then starts a new file at `file`. A reader that has a file open keeps it.
 */
export function rotateLogFiles(file: string, maxFiles: number): void {
  const rotated = rotatedFiles(file).length;
  for (let n = rotated; n >= Math.max(1, maxFiles); n--) fs.rmSync(rotatedLogPath(file, n), { force: true });
  for (let n = Math.min(rotated, maxFiles - 1); n >= 1; n--) fs.renameSync(rotatedLogPath(file, n), rotatedLogPath(file, n + 1));
  if (maxFiles > 0) fs.renameSync(file, rotatedLogPath(file, 1));
  else fs.rmSync(file, { force: true });
}

const NEWLINE = 0x0a;
const READ_BYTES = 256 * 1024;

/**
 * Where the last `n` records of an open file start, reading backwards a chunk at a time, and how many records there
 * are from there (fewer than `n` when the whole file holds fewer: then the offset is 0).
 */
export function lastRecordsStart(fd: number, size: number, n: number): { offset: number; found: number } {
  let newlines = 0; // a final newline ends the last record; it does not start one
  const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, size));
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - READ_BYTES);
    const len = fs.readSync(fd, buf, 0, end - start, start);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== NEWLINE || start + i === size - 1) continue;
      if (++newlines === n) return { offset: start + i + 1, found: n };
    }
    end = start;
  }
  return { offset: 0, found: size > 0 ? newlines + 1 : 0 };
}

function inode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

/**
 * Reads a step's log as whole records, across its rotated files and then the current one, from the oldest kept
 * record (or the last N). Synchronous, a bounded chunk at a time: callers decide when to read on.
 */
export class StepLogReader {
  private fd: number | undefined;
  private ino = -1;
  private offset = 0;
  /** The start of a record whose newline is not read yet. */
  private carry: Buffer | undefined;
  /** When the reader first stood at the end of a file that is no longer the current one. */
  private endSeenAt: number | undefined;
  /** Where the records last returned by next() start in their file. */
  private recordsAt = 0;

  constructor(private readonly file: string) {}

  /**
   * Positions the reader: at the oldest kept record (tail < 0), at the end of the current file (tail 0: only what
   * comes next), or at the last `tail` records over all the files. False while the step has no log yet.
   */
  start(tail: number): boolean {
    const files = stepLogFiles(this.file);
    if (files.length === 0) return false;
    if (tail < 0) return this.open(files[0]!, () => 0);
    if (tail === 0) return this.open(files[files.length - 1]!, (fd) => fs.fstatSync(fd).size);
    let wanted = tail;
    for (let i = files.length - 1; i >= 0; i--) {
      const opened = this.open(files[i]!, (fd) => {
        const { offset, found } = lastRecordsStart(fd, fs.fstatSync(fd).size, wanted);
        wanted -= found;
        return offset;
      });
      if (opened && (wanted <= 0 || i === 0)) return true;
    }
    return this.open(stepLogFiles(this.file)[0] ?? this.file, () => 0); // every file was rotated away meanwhile
  }

  /**
   * Positions the reader where an earlier reader's `cursorAfter` pointed, in whichever kept file that now is; at the
   * oldest kept record when that file is gone. False while the step has no log yet.
   */
  resume(cursor: string): boolean {
    const m = /^(\d+):(\d+)$/.exec(cursor);
    const files = stepLogFiles(this.file);
    if (files.length === 0) return false;
    if (m) {
      const [ino, offset] = [Number(m[1]), Number(m[2])];
      for (const f of files) if (inode(f) === ino && this.open(f, (fd) => Math.min(offset, fs.fstatSync(fd).size), ino)) return true;
    }
    return this.open(files[0]!, () => 0);
  }

  /** The cursor of the position `end` bytes into the records last returned by next(), for `resume`. */
  cursorAfter(end: number): string {
    return `${this.ino}:${this.recordsAt + end}`;
  }

  /** Opens `file` (only if it still is inode `ino`, when given) and reads on from `position`. */
  private open(file: string, position: (fd: number) => number, ino?: number): boolean {
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch {
      return false;
    }
    const actual = fs.fstatSync(fd).ino;
    if (ino !== undefined && actual !== ino) {
      fs.closeSync(fd); // renamed meanwhile: look again
      return false;
    }
    this.close();
    this.fd = fd;
    this.ino = actual;
    this.offset = position(fd);
    this.carry = undefined;
    this.endSeenAt = undefined;
    return true;
  }

  /**
   * The next whole records (ending with a newline), or undefined when there is nothing more now. At the end of a
   * file that was rotated away it moves on to the next file, once the file has not grown for `settleMs` (the
   * runtime may still write the old file briefly after the rename, until it reopens its log).
   */
  next(settleMs = 0): Buffer | undefined {
    for (;;) {
      if (this.fd === undefined) return undefined;
      const chunk = Buffer.allocUnsafe(READ_BYTES);
      const n = fs.readSync(this.fd, chunk, 0, READ_BYTES, this.offset);
      if (n > 0) {
        this.offset += n;
        this.endSeenAt = undefined;
        const buf = this.carry ? Buffer.concat([this.carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        const end = buf.lastIndexOf(NEWLINE) + 1;
        if (end > 0) this.recordsAt = this.offset - buf.length;
        this.carry = end < buf.length ? buf.subarray(end) : undefined;
        if (end > 0) return buf.subarray(0, end);
        continue; // a record longer than a chunk
      }
      const successor = this.successor();
      if (!successor) return undefined;
      if (settleMs > 0) {
        const now = performance.now();
        this.endSeenAt ??= now;
        if (now - this.endSeenAt < settleMs) return undefined;
      }
      // What the old file left unterminated never ends: the next file starts with a record of its own.
      if (!this.open(successor.file, () => 0, successor.ino)) return undefined;
    }
  }

  /** The file after the open one, once the open one is no longer the current file; undefined while it still is. */
  private successor(): { file: string; ino: number } | undefined {
    if (inode(this.file) === this.ino) return undefined;
    const files = stepLogFiles(this.file).map((file) => ({ file, ino: inode(file) ?? -1 }));
    const at = files.findIndex((f) => f.ino === this.ino);
    if (at >= 0) return files[at + 1]; // none yet: the writer has not opened the new file
    // Not among the kept files: deleted (rotated out) while read, so every kept file is newer; or a rotation is
    // moving it right now (it still has a name): look again later.
    if (fs.fstatSync(this.fd!).nlink > 0) return undefined;
    return files[0];
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
