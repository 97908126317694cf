// Registry of every command the one executable knows, keyed by oclif command id.
// `ccon run` has id "ccon:run"; the daemons are plain ids ("ctld", "craned", "supervisor").
import type { Command } from "@oclif/core";
import Cbatch from "./cbatch";
import Ccancel from "./ccancel";
import Cinfo from "./cinfo";
import Cqueue from "./cqueue";
import Craned from "./craned";
import Crun from "./crun";
import Ctld from "./ctld";
import Down from "./down";
import Supervisor from "./supervisor";
import Up from "./up";

export const commands: Record<string, typeof Command> = {
  ctld: Ctld,
  craned: Craned,
  supervisor: Supervisor,
  up: Up,
  down: Down,
  cbatch: Cbatch,
  crun: Crun,
  cqueue: Cqueue,
  ccancel: Ccancel,
  cinfo: Cinfo,
};
