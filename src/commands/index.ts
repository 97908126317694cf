// Registry of every command the one executable knows, keyed by oclif command id.
// `ccon run` has id "ccon:run"; the daemons are plain ids ("ctld", "craned", "supervisor").
import type { Command } from "@oclif/core";
import type { TopicMap } from "../core/cli/resolve";
import CconRun from "./ccon/run";
import CconPs from "./ccon/ps";
import CconPods from "./ccon/pods";
import CconInspect from "./ccon/inspect";
import CconInspectp from "./ccon/inspectp";
import CconStop from "./ccon/stop";
import CconWait from "./ccon/wait";
import CconLogs from "./ccon/logs";
import CconAttach from "./ccon/attach";
import CconExec from "./ccon/exec";
import CconLogin from "./ccon/login";
import CconLogout from "./ccon/logout";
import CconTop from "./ccon/top";
import Cacct from "./cacct";
import Calloc from "./calloc";
import Cbatch from "./cbatch";
import Ccancel from "./ccancel";
import Cinfo from "./cinfo";
import CcontrolHold from "./ccontrol/hold";
import CcontrolRelease from "./ccontrol/release";
import CcontrolShow from "./ccontrol/show";
import CcontrolUpdate from "./ccontrol/update";
import Completion from "./completion";
import ConfigCheck from "./config/check";
import ConfigReference from "./config/reference";
import Cqueue from "./cqueue";
import Craned from "./craned";
import Crun from "./crun";
import Ctld from "./ctld";
import Down from "./down";
import NodeKey from "./node-key";
import Supervisor from "./supervisor";
import Top from "./top";
import Up from "./up";

/** Descriptions of the topics whose first command's summary would not describe them. */
export const topics: TopicMap = {
  config: { description: "Check the configuration file, print the reference of its keys" },
  ccontrol: { description: "Show and change jobs and nodes: show, hold, release, update" },
};

export const commands: Record<string, typeof Command> = {
  ctld: Ctld,
  craned: Craned,
  supervisor: Supervisor,
  up: Up,
  down: Down,
  "node-key": NodeKey,
  cbatch: Cbatch,
  crun: Crun,
  cqueue: Cqueue,
  ccancel: Ccancel,
  cinfo: Cinfo,
  cacct: Cacct,
  calloc: Calloc,
  "ccontrol:show": CcontrolShow,
  "ccontrol:hold": CcontrolHold,
  "ccontrol:release": CcontrolRelease,
  "ccontrol:update": CcontrolUpdate,
  top: Top,
  completion: Completion,
  "config:check": ConfigCheck,
  "config:reference": ConfigReference,
  "ccon:run": CconRun,
  "ccon:ps": CconPs,
  "ccon:pods": CconPods,
  "ccon:inspect": CconInspect,
  "ccon:inspectp": CconInspectp,
  "ccon:stop": CconStop,
  "ccon:wait": CconWait,
  "ccon:logs": CconLogs,
  "ccon:attach": CconAttach,
  "ccon:exec": CconExec,
  "ccon:login": CconLogin,
  "ccon:logout": CconLogout,
  "ccon:top": CconTop,
};
