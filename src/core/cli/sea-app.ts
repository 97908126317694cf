// The application bundle (dist/crane.cjs, from src/main.ts) inside the single executable: a SEA asset, compiled
// with a V8 code cache that scripts/build-binary.ts made by running the bundle once. Node's own `useCodeCache`
// is made without running the code, so it holds only top-level functions; this one also holds every function
// that ran (module initialisers, oclif's parser, the gRPC client), which then need no compiling at start.
import { getRawAsset } from "node:sea";
import vm from "node:vm";

/**
 * The two application bundles, each inside Node's CommonJS wrapper, Latin-1 encoded (decoding it is a copy, not a
 * UTF-8 pass), each with its own code cache: everything, and the user commands alone. V8 deserialises a whole
 * cache at start, so a user command that loads a bundle without the daemons and the Ink view starts faster.
 */
export const APP_ASSETS = {
  full: { source: "crane.cjs", cache: "crane.cjs.cache" },
  client: { source: "crane-client.cjs", cache: "crane-client.cjs.cache" },
} as const;
export type AppBundle = keyof typeof APP_ASSETS;
/** Set (to anything) by a client-bundle command that hands its command line over to the full bundle. */
export const FULL_BUNDLE_ENV = "CRANE_FULL_BUNDLE";

/**
 * The commands that the client bundle holds: those a user runs against ctld. Help, the daemons, `crane up`/`down`,
 * completion, config tools and the Ink view run from the full bundle.
 */
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set([
  "cbatch",
  "crun",
  "cqueue",
  "ccancel",
  "cinfo",
  "cacct",
  "calloc",
  "ccontrol:show",
  "ccontrol:hold",
  "ccontrol:release",
  "ccontrol:update",
  "ccon:run",
  "ccon:ps",
  "ccon:pods",
  "ccon:inspect",
  "ccon:inspectp",
  "ccon:stop",
  "ccon:wait",
  "ccon:logs",
  "ccon:attach",
  "ccon:exec",
  "ccon:login",
  "ccon:logout",
]);
/** Node's CommonJS wrapper, opened on the first line so that line numbers stay those of dist/crane.cjs. */
export const APP_WRAPPER = ["(function (exports, require, module, __filename, __dirname) { ", "\n})"] as const;

type ModuleWrapper = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** Run the embedded application with the executable's own `require` (builtins only, as for any SEA main). */
export function runSeaApp(bundle: AppBundle, require: NodeJS.Require, filename: string, dirname: string): void {
  const asset = APP_ASSETS[bundle];
  const source = Buffer.from(getRawAsset(asset.source)).toString("latin1");
  const cachedData = Buffer.from(getRawAsset(asset.cache));
  // Same options as the build's warm-up run, or V8 may refuse the cache.
  const script = new vm.Script(source, { filename: asset.source, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  if (script.cachedDataRejected && process.env.CRANE_DEBUG) process.stderr.write("crane: V8 rejected the embedded code cache\n");
  const module = { exports: {} };
  (script.runInThisContext() as ModuleWrapper)(module.exports, require, module, filename, dirname);
}
