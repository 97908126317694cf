// Entry of the single executable (scripts/build-binary.ts); src/main.ts is the application it runs.
// `--version` (wherever the dispatcher would accept it) is answered here from the build-time manifest of the
// commands' flags, without loading the application; a user command runs the client bundle, anything else (help,
// daemons, the Ink view) the full one (src/core/cli/sea-app.ts).
import { BUNDLED_MANIFEST, Registry, invokedName, resolve, viewPrefix, type Resolved } from "./core/cli/resolve.js";
import { CLIENT_COMMANDS, FULL_BUNDLE_ENV, runSeaApp } from "./core/cli/sea-app.js";
import { versionText } from "./core/cli/version.js";

function resolved(): Resolved | undefined {
  if (!BUNDLED_MANIFEST) return undefined;
  const reg = new Registry(BUNDLED_MANIFEST.commands, BUNDLED_MANIFEST.topics);
  try {
    return resolve(reg, viewPrefix(reg, invokedName({ keepEnv: true })), process.argv.slice(2));
  } catch {
    return undefined; // a usage error: the full application reports it
  }
}

const what = resolved();
if (what?.kind === "version") {
  // Like the dispatcher: exit once the text is handed to the OS (at most 2 s), whatever became of it.
  setTimeout(() => process.exit(0), 2000).unref();
  try {
    process.stdout.write(versionText(), () => process.exit(0));
  } catch {
    process.exit(0);
  }
} else {
  const client = what?.kind === "command" && CLIENT_COMMANDS.has(what.id) && !process.env[FULL_BUNDLE_ENV];
  delete process.env[FULL_BUNDLE_ENV];
  runSeaApp(client ? "client" : "full", require, __filename, __dirname);
}
