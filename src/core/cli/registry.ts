// Registry credentials saved by `ccon login` in ~/.config/crane/registry.json (dir 0700, file 0600).
// They travel with a container step to the node that pulls its image and are never stored by ctld.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ParseError, normaliseRegistryServer } from "../parse";
import { CliError } from "./errors";

interface RegistryFile {
  auths: Record<string, { auth: string }>;
}

/** A registry as typed by the user (`ccon login/logout SERVER`), normalised; a bad one is a usage error (exit 2). */
export function registryServerArg(s: string): string {
  try {
    return normaliseRegistryServer(s);
  } catch (e) {
    if (e instanceof ParseError) throw new CliError(e.message);
    throw e;
  }
}

/** `ccon login/logout --json`. */
export interface RegistryLoginJson {
  server: string;
  username?: string;
}

const DOCKER_ALIASES = ["docker.io", "index.docker.io", "registry-1.docker.io"];

export function registryFilePath(): string {
  return path.join(process.env.HOME || os.homedir(), ".config", "crane", "registry.json");
}

export function loadRegistry(): RegistryFile {
  try {
    const data = JSON.parse(fs.readFileSync(registryFilePath(), "utf8")) as Partial<RegistryFile>;
    return { auths: data.auths ?? {} };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { auths: {} };
    throw e;
  }
}

export function saveRegistry(data: RegistryFile): void {
  const file = registryFilePath();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** Every stored key that names this server (docker.io has two aliases). */
export function matchingKeys(data: RegistryFile, server: string): string[] {
  const wanted = DOCKER_ALIASES.includes(server) ? DOCKER_ALIASES : [server];
  return Object.keys(data.auths).filter((k) => {
    try {
      return wanted.includes(normaliseRegistryServer(k));
    } catch {
      return false;
    }
  });
}

export function registryAuthFor(server: string, warn: (m: string) => void): { username: string; password: string } | undefined {
  try {
    const data = loadRegistry();
    const key = matchingKeys(data, normaliseRegistryServer(server))[0];
    if (!key) return undefined;
    const decoded = Buffer.from(data.auths[key]!.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  } catch (e) {
    warn(`Failed to get auth for registry ${server}: ${(e as Error).message}`);
    return undefined;
  }
}
