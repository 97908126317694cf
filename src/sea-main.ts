// Entry of the single executable (scripts/build-binary.ts); src/main.ts is the application it runs.
// `--version` (wherever the dispatcher would accept it) is answered here from the build-time manifest of the
// commands' flags, without loading the application; everything else runs the embedded application bundle.
import { BUNDLED_MANIFEST, Registry, invokedName, resolve, viewPrefix } from "./core/cli/resolve.js";
import { runSeaApp } from "./core/cli/sea-app.js";
import { versionText } from "./core/cli/version.js";

function wantsVersion(): boolean {
  if (!BUNDLED_MANIFEST) return false;
  const reg = new Registry(BUNDLED_MANIFEST.commands, BUNDLED_MANIFEST.topics);
  try {
    return resolve(reg, viewPrefix(reg, invokedName({ keepEnv: true })), process.argv.slice(2)).kind === "version";
  } catch {
    return false; // a usage error: the application reports it
  }
}

if (wantsVersion()) {
  // Like the dispatcher: exit once the text is handed to the OS (at most 2 s), whatever became of it.
  setTimeout(() => process.exit(0), 2000).unref();
  try {
    process.stdout.write(versionText(), () => process.exit(0));
  } catch {
    process.exit(0);
  }
} else {
  runSeaApp(require, __filename, __dirname);
}
