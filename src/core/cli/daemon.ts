import type { CraneConfig } from "../config";
import type { Logger } from "../log";

/** Unknown keys do not stop a daemon (an older daemon may meet a newer key), but a typo must not go unnoticed. */
export function warnUnknownConfigKeys(config: CraneConfig, log: Logger): void {
  for (const u of config.unknownKeys) {
    log.warn(`config: ${u.path} in ${config.file || "the embedded default config"}: ${u.message}; the key is ignored (see crane config check)`);
  }
}

// Daemons run until SIGTERM or SIGINT, then stop cleanly.
export function waitForShutdown(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(1);
      stopping = true;
      void stop().finally(() => {
        resolve();
        process.exit(0);
      });
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}
