// A daemon's wall clock moved under it with libfaketime (Debian faketime): the daemon runs with the library preloaded
// and reads its offset from a file on every call, so writing "+120s" to the file is an NTP step or an admin's
// `date -s` as the daemon sees it. The monotonic clock is left alone, as a real jump leaves it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

export function faketimeMissingReason(): string | undefined {
  return fs.existsSync(LIBFAKETIME) ? undefined : `missing ${LIBFAKETIME} (apt-get install faketime; scripts/install-deps.sh does)`;
}

export class FakeWallClock {
  readonly offsetFile: string;

  constructor() {
    const reason = faketimeMissingReason();
    if (reason) throw new Error(reason);
    this.offsetFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "crane-faketime-")), "offset");
    this.set("+0");
  }

  /** The environment of a daemon whose wall clock follows this one. */
  get env(): NodeJS.ProcessEnv {
    return { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: this.offsetFile, FAKETIME_NO_CACHE: "1", FAKETIME_DONT_FAKE_MONOTONIC: "1" };
  }

  /** A libfaketime offset: "+120s", "-2h", "+0". */
  set(offset: string): void {
    fs.writeFileSync(this.offsetFile, `${offset}\n`);
  }

  remove(): void {
    fs.rmSync(path.dirname(this.offsetFile), { recursive: true, force: true });
  }
}
