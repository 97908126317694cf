// Errors a command throws to end with a given exit code (CraneSched `CraneError{Code, Message}` semantics).
//
//   throw new CliError("--cpus and --cpus-per-task are mutually exclusive", ExitCode.CmdArg);
//
// How the dispatcher reports it (stderr):
//   * code 2 (ExitCode.CmdArg)  -> "Error: <message>"
//   * any other code            -> "<message>" (nothing at all when the message is empty: the detail was already logged)
// Any other thrown Error exits 1 with "Error: <message>"; oclif parse errors (unknown flag, missing arg, bad value)
// exit 1 with "Error: <message>" and "See '<cmd> --help'.".

export const ExitCode = {
  Success: 0,
  /** Generic / plain error / framework parse error. */
  Generic: 1,
  /** Bad CLI argument or validation failure. */
  CmdArg: 2,
  /** gRPC transport failure (ctld unreachable...). */
  Network: 3,
  /** Backend replied not-ok, or a stream/attach failed. */
  Backend: 4,
  /** Bad --format string, JSON marshal failure. */
  InvalidFormat: 5,
  /** Local OS failure (cwd, hostname, file IO). */
  System: 6,
} as const;

export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = ExitCode.CmdArg) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** Raised by the dispatcher/argv handling for usage problems; reported like an oclif parse error (exit 1 + hint). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
