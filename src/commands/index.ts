// Registry of every command the one executable knows, keyed by oclif command id.
// `ccon run` has id "ccon:run"; the daemons are plain ids ("ctld", "craned", "supervisor").
import type { Command } from "@oclif/core";

export const commands: Record<string, typeof Command> = {};
