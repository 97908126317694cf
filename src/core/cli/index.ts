// Public surface of the CLI framework. Command modules may import from here or from ./base.js / ./errors.js.
export { CraneCommand, nonGreedy, type Invocation } from "./base.js";
export { CliError, ExitCode, UsageError } from "./errors.js";
export { VERSION, BUILD_TIME, versionText } from "./version.js";
export { runCommand, main, commandName, invokedName, MULTI_CALL_NAMES, type RunOptions } from "./dispatch.js";
export type { CommandMap, TopicMap, TopicInfo } from "./oclif-config.js";
export type { Io } from "./help.js";
