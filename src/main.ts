// Entry point of the `crane` executable (bundled by scripts/build-binary.ts; run from source by bin/crane.js).
import { main } from "./core/cli/dispatch.js";

main().catch((err: unknown) => {
  process.stderr.write(`Error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
