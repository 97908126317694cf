// The client bundle's stand-in for run.tsx (scripts/build-binary.ts): Ink and React live only in the full bundle,
// so the same command line runs again there, on the same terminal, and its exit code becomes this one's.
import { spawnSync } from "node:child_process";
import { CliError } from "../../core/cli/errors";
import { FULL_BUNDLE_ENV } from "../../core/cli/sea-app";
import { exitCodeOfSignal } from "../../core/signals";

export function runTop(): Promise<void> {
  const r = spawnSync(process.execPath, process.argv.slice(2), {
    argv0: process.argv0,
    stdio: "inherit",
    env: { ...process.env, [FULL_BUNDLE_ENV]: "1" },
  });
  if (r.error) throw new CliError(`cannot start the live view: ${r.error.message}`, 1);
  const code = r.status ?? (r.signal ? exitCodeOfSignal(r.signal) : 1);
  return code === 0 ? Promise.resolve() : Promise.reject(new CliError("", code));
}
