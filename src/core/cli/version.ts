// Version and build time. scripts/build-binary.ts replaces the two identifiers below with string literals
// (esbuild `define`); when running from source (tsx, vitest) they are undefined and we fall back to
// package.json and "Unknown".
import { readFileSync } from "node:fs";
import { join } from "node:path";

declare const __CRANE_VERSION__: string | undefined;
declare const __CRANE_BUILD_TIME__: string | undefined;

function sourceVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export const VERSION: string = typeof __CRANE_VERSION__ === "string" ? __CRANE_VERSION__ : sourceVersion();

/** Build time as RFC1123Z in UTC ("Mon, 02 Jan 2006 15:04:05 +0000"), or "Unknown" when not built. */
export const BUILD_TIME: string = typeof __CRANE_BUILD_TIME__ === "string" ? __CRANE_BUILD_TIME__ : "Unknown";

/** Format a date the way Go's time.RFC1123Z does for a UTC time. */
export function formatRfc1123Z(d: Date): string {
  // toUTCString(): "Tue, 25 Nov 2025 02:44:00 GMT" (day always two digits).
  return d.toUTCString().replace(/GMT$/, "+0000");
}

/** The two lines printed by `-v/--version` on every command. */
export function versionText(): string {
  return `crane ${VERSION}\nSource Time: ${BUILD_TIME}\n`;
}
