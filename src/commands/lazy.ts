// The registry of src/commands/index.ts as one loader per command, for the built executable: its dispatcher knows
// every command's flags from a build-time manifest and loads only the command that runs (or all of them for help).
// Keep the two files in step: the build checks that both give the same classes.
// require(), not import(): esbuild turns either into a lazy module initialiser, but only require() yields the same
// class from source (tsx), where the modules are CommonJS.
/* eslint-disable @typescript-eslint/no-require-imports */
import type { Command } from "@oclif/core";

export const loaders: Record<string, () => typeof Command> = {
  ctld: () => require("./ctld").default,
  craned: () => require("./craned").default,
  supervisor: () => require("./supervisor").default,
  up: () => require("./up").default,
  down: () => require("./down").default,
  "node-key": () => require("./node-key").default,
  cbatch: () => require("./cbatch").default,
  crun: () => require("./crun").default,
  cqueue: () => require("./cqueue").default,
  ccancel: () => require("./ccancel").default,
  cinfo: () => require("./cinfo").default,
  cacct: () => require("./cacct").default,
  calloc: () => require("./calloc").default,
  "ccontrol:show": () => require("./ccontrol/show").default,
  "ccontrol:hold": () => require("./ccontrol/hold").default,
  "ccontrol:release": () => require("./ccontrol/release").default,
  "ccontrol:update": () => require("./ccontrol/update").default,
  top: () => require("./top").default,
  completion: () => require("./completion").default,
  "config:check": () => require("./config/check").default,
  "config:reference": () => require("./config/reference").default,
  "ccon:run": () => require("./ccon/run").default,
  "ccon:ps": () => require("./ccon/ps").default,
  "ccon:pods": () => require("./ccon/pods").default,
  "ccon:inspect": () => require("./ccon/inspect").default,
  "ccon:inspectp": () => require("./ccon/inspectp").default,
  "ccon:stop": () => require("./ccon/stop").default,
  "ccon:wait": () => require("./ccon/wait").default,
  "ccon:logs": () => require("./ccon/logs").default,
  "ccon:attach": () => require("./ccon/attach").default,
  "ccon:exec": () => require("./ccon/exec").default,
  "ccon:login": () => require("./ccon/login").default,
  "ccon:logout": () => require("./ccon/logout").default,
  "ccon:top": () => require("./ccon/top").default,
};
