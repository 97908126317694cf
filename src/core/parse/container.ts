import { ParseError } from "./errors.js";

// ---------------------------------------------------------------------------
// Image references (Docker "familiar name" rules)
// ---------------------------------------------------------------------------

const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IMAGE_ID = /^[a-f0-9]{64}$/;

export interface NormalisedImage {
  /** Fully qualified reference, e.g. `docker.io/library/busybox:latest`. */
  image: string;
  /** Registry host the image is pulled from, e.g. `docker.io` or `host:5000`. */
  domain: string;
}

function imageError(ref: string, why: string): ParseError {
  return new ParseError(`invalid image reference '${ref}': ${why}`);
}

function validateDigest(ref: string, digest: string): void {
  const validSha256 = !digest.startsWith("sha256:") || /^sha256:[a-f0-9]{64}$/.test(digest);
  if (!DIGEST.test(digest) || !validSha256) {
    throw imageError(ref, `invalid digest '${digest}' (expected algorithm:hex, e.g. sha256: followed by 64 lowercase hex digits)`);
  }
}

/** Splits `name[:tag]` at the last `:` after the last `/` (so `host:5000/x` has no tag). */
function splitTag(ref: string, nameAndTag: string): { name: string; tag?: string } {
  const colon = nameAndTag.lastIndexOf(":");
  if (colon <= nameAndTag.lastIndexOf("/")) return { name: nameAndTag };
  const tag = nameAndTag.slice(colon + 1);
  if (!TAG.test(tag)) {
    throw imageError(ref, `invalid tag '${tag}' (tags use letters, digits, '_', '.' and '-', up to 128 characters)`);
  }
  return { name: nameAndTag.slice(0, colon), tag };
}

/** Docker treats the first component as a registry only if it has a '.' or ':', is `localhost`, or has upper case. */
function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf("/");
  const first = name.slice(0, slash);
  const isRegistry = slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
  let domain = isRegistry ? first : DEFAULT_DOMAIN;
  let path = isRegistry ? name.slice(slash + 1) : name;
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

/**
 * Normalises an image reference the way Docker does: `busybox` becomes
 * `docker.io/library/busybox:latest`; when both a tag and a digest are given, only the digest is kept.
 */
export function normaliseImageRef(ref: string): NormalisedImage {
  const input = ref.trim();
  if (input === "") throw imageError(ref, "the image name is empty (e.g. busybox or registry.example.com/team/app:1.0)");
  if (IMAGE_ID.test(input)) throw imageError(ref, "a 64-character hex string is an image ID; give a repository name instead");

  const at = input.indexOf("@");
  const digest = at >= 0 ? input.slice(at + 1) : undefined;
  if (digest !== undefined) validateDigest(ref, digest);
  const { name, tag } = splitTag(ref, at >= 0 ? input.slice(0, at) : input);
  const { domain, path } = splitDomain(name);

  if (!DOMAIN.test(domain)) throw imageError(ref, `invalid registry host '${domain}'`);
  if (path !== path.toLowerCase()) throw imageError(ref, "repository name must be lowercase");
  if (!path.split("/").every((component) => PATH_COMPONENT.test(component))) {
    throw imageError(ref, "invalid reference format (repository names use lowercase letters and digits separated by '.', '_', '__' or '-')");
  }
  const repository = `${domain}/${path}`;
  if (repository.length > MAX_NAME_LENGTH) {
    throw imageError(ref, `repository name must not be more than ${MAX_NAME_LENGTH} characters`);
  }
  const image = digest !== undefined ? `${repository}@${digest}` : `${repository}:${tag ?? "latest"}`;
  return { image, domain };
}

// ---------------------------------------------------------------------------
// Ports, volumes, users, environment, DNS
// ---------------------------------------------------------------------------

const MAX_PORT = 65535;
const MAX_ID = 0xffff_ffff;

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "TCP" | "UDP";
}

function portError(spec: string, why: string): ParseError {
  return new ParseError(`invalid port mapping '${spec}': ${why} (use PORT or HOST:CONTAINER, optionally followed by /udp)`);
}

/** Parses one side of a port mapping; `role` is `host` or `container` and appears in the range error. */
function parsePort(spec: string, text: string, role: string, label: string): number {
  if (!/^\d+$/.test(text)) throw portError(spec, `${label}: '${text}' is not a number`);
  const port = Number(text);
  if (port < 1 || port > MAX_PORT) throw portError(spec, `invalid ${role} port ${port}: must be between 1 and ${MAX_PORT}`);
  return port;
}

function parseProtocol(spec: string, text: string | undefined): "TCP" | "UDP" {
  if (text === undefined) return "TCP";
  const protocol = text.toUpperCase();
  if (protocol !== "TCP" && protocol !== "UDP") throw portError(spec, `unsupported protocol '${text}' (use tcp or udp)`);
  return protocol;
}

/** Parses `PORT`, `HOST:CONTAINER` and either with `/udp` or `/tcp`. A single `PORT` is used on both sides. */
export function parsePortMapping(s: string): PortMapping {
  const spec = s.trim();
  const slash = spec.indexOf("/");
  const ports = slash >= 0 ? spec.slice(0, slash) : spec;
  const protocol = parseProtocol(s, slash >= 0 ? spec.slice(slash + 1) : undefined);
  // split always gives a first part; "" is what it gives for an empty string.
  const [first = "", second, ...extra] = ports.split(":");
  if (second === undefined) {
    const port = parsePort(s, first, "container", "invalid port number");
    return { hostPort: port, containerPort: port, protocol };
  }
  if (extra.length > 0) throw portError(s, "too many ':' separators");
  const hostPort = parsePort(s, first, "host", "invalid host port");
  const containerPort = parsePort(s, second, "container", "invalid container port");
  return { hostPort, containerPort, protocol };
}

export interface VolumeMount {
  hostPath: string;
  containerPath: string;
  readonly: boolean;
}

function volumeError(spec: string, why: string): ParseError {
  return new ParseError(`invalid volume '${spec}': ${why} (use HOST:CONTAINER[:ro|rw], e.g. /data:/mnt/data:ro)`);
}

/** Parses `-v HOST:CONTAINER[:ro|rw]`; both paths must be absolute. */
export function parseVolume(s: string): VolumeMount {
  // The reference splits at the first ':' only; an `:ro`/`:rw` mode suffix is understood here.
  const [hostPath, containerPath, mode = "rw", ...extra] = s.split(":");
  if (hostPath === undefined || containerPath === undefined || extra.length > 0) {
    throw volumeError(s, "expected two paths separated by ':'");
  }
  if (hostPath === "" || containerPath === "") {
    throw new ParseError(`host path and container path cannot be empty: '${s}' (use HOST:CONTAINER, e.g. /data:/mnt/data)`);
  }
  if (mode !== "ro" && mode !== "rw") throw volumeError(s, `unknown mode '${mode}'; the mode must be ro or rw`);
  if (!hostPath.startsWith("/")) throw volumeError(s, `host path '${hostPath}' must be absolute (e.g. $PWD/${hostPath})`);
  if (!containerPath.startsWith("/")) throw volumeError(s, `container path '${containerPath}' must be absolute`);
  return { hostPath, containerPath, readonly: mode === "ro" };
}

export interface UserSpec {
  uid: number;
  /** Absent when only a UID was given; the caller picks the default group. */
  gid?: number;
}

function parseId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}

/** Parses a numeric `UID[:GID]`; user and group names are not resolved. */
export function parseUserSpec(s: string): UserSpec {
  // split always gives a first part; "" is what it gives for an empty string.
  const [uidText = "", gidText, ...extra] = s.trim().split(":");
  const uid = parseId(uidText);
  if (uid === undefined || extra.length > 0) {
    throw new ParseError(`invalid user specification '${s}': user name resolution not supported, please provide a numeric UID (UID[:GID], e.g. 1000:1000)`);
  }
  if (gidText === undefined) return { uid };
  const gid = parseId(gidText);
  if (gid === undefined) {
    throw new ParseError(`invalid user specification '${s}': group name resolution not supported, please provide a numeric GID (UID[:GID], e.g. 1000:1000)`);
  }
  return { uid, gid };
}

/**
 * Parses `-e K=V`. A bare `K` takes its value from `env` (the caller's environment, as Docker does;
 * the reference sends an empty value). An unset variable gives an empty value.
 */
export function parseEnvAssignment(s: string, env: NodeJS.ProcessEnv = process.env): [string, string] {
  const equals = s.indexOf("=");
  const key = equals >= 0 ? s.slice(0, equals) : s;
  if (key.trim() === "") {
    throw new ParseError(`invalid environment variable '${s}': the name is empty (use KEY=VALUE or KEY)`);
  }
  return equals >= 0 ? [key, s.slice(equals + 1)] : [key, env[key] ?? ""];
}

const IPV4_OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);

/** Throws unless `s` is a dotted-quad IPv4 address (no leading zeros). */
export function validateIpv4(s: string): void {
  if (!IPV4.test(s)) {
    throw new ParseError(`Invalid ipv4 format: ${s} (expected four numbers from 0 to 255 separated by dots, e.g. 8.8.8.8)`);
  }
}

// ---------------------------------------------------------------------------
// Registry servers (ccon login/logout)
// ---------------------------------------------------------------------------

const DOCKER_HUB_ALIASES = new Set(["index.docker.io", "registry-1.docker.io"]);
const URL_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;
const HOST_FORM = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d+)?$/;

function registryError(input: string): ParseError {
  return new ParseError(`invalid registry server: ${input} (give a host with an optional port, e.g. registry.example.com:5000)`);
}

/** The host part of a registry given as a URL; anything beyond scheme://host[:port][/] is rejected. */
function hostFromUrl(text: string, input: string): string {
  const [, authority, path, query, fragment] = URL_FORM.exec(text) ?? [];
  if (authority === undefined || authority === "" || authority.includes("@") || query !== undefined || fragment !== undefined) throw registryError(input);
  if (path !== "" && path !== "/") throw registryError(input);
  return authority;
}

/**
 * Canonical registry key for `ccon login/logout` and credential lookup: lower-case host[:port],
 * with Docker Hub aliases folded into `docker.io`.
 */
export function normaliseRegistryServer(s: string): string {
  const text = s.trim();
  if (text === "") throw new ParseError("registry server is required (e.g. ccon login registry.example.com)");
  const host = (text.includes("://") ? hostFromUrl(text, s) : text.replace(/\/+$/, "")).toLowerCase();
  if (!HOST_FORM.test(host)) throw registryError(s);
  return DOCKER_HUB_ALIASES.has(host) ? DEFAULT_DOMAIN : host;
}
