// The application bundle (dist/crane.cjs, from src/main.ts) inside the single executable: a SEA asset, compiled
// with a V8 code cache that scripts/build-binary.ts made by running the bundle once. Node's own `useCodeCache`
// is made without running the code, so it holds only top-level functions; this one also holds every function
// that ran (module initialisers, oclif's parser, the gRPC client), which then need no compiling at start.
import { getRawAsset } from "node:sea";
import vm from "node:vm";

/** The bundle inside Node's CommonJS wrapper, Latin-1 encoded: decoding it is a copy, not a UTF-8 pass. */
export const APP_ASSET = "crane.cjs";
export const APP_CACHE_ASSET = "crane.cjs.cache";
/** Node's CommonJS wrapper, opened on the first line so that line numbers stay those of dist/crane.cjs. */
export const APP_WRAPPER = ["(function (exports, require, module, __filename, __dirname) { ", "\n})"] as const;

type ModuleWrapper = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** Run the embedded application with the executable's own `require` (builtins only, as for any SEA main). */
export function runSeaApp(require: NodeJS.Require, filename: string, dirname: string): void {
  const source = Buffer.from(getRawAsset(APP_ASSET)).toString("latin1");
  const cachedData = Buffer.from(getRawAsset(APP_CACHE_ASSET));
  // Same options as the build's warm-up run, or V8 may refuse the cache.
  const script = new vm.Script(source, { filename: APP_ASSET, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  if (script.cachedDataRejected && process.env.CRANE_DEBUG) process.stderr.write("crane: V8 rejected the embedded code cache\n");
  const module = { exports: {} };
  (script.runInThisContext() as ModuleWrapper)(module.exports, require, module, filename, dirname);
}
