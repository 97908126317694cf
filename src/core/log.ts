// Daemon logging: one line per event with time, role and level, to stderr (daemons redirect it to a file).
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(role: string, level: Level = (process.env.CRANE_LOG_LEVEL as Level) || "info"): Logger {
  const min = ORDER[level] ?? 1;
  const write = (lvl: Level, msg: string) => {
    if (ORDER[lvl] < min) return;
    process.stderr.write(`${new Date().toISOString()} ${role} ${lvl.toUpperCase()} ${msg}\n`);
  };
  return {
    debug: (m) => write("debug", m),
    info: (m) => write("info", m),
    warn: (m) => write("warn", m),
    error: (m) => write("error", m),
  };
}
