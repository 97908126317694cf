// Builds an OCI image-layout tar holding busybox-static, without Docker or a registry: the test image and the
// pod sandbox ("pause") image of a node that cannot pull. Output is byte-for-byte reproducible for a given
// busybox binary, so its sha256 can key a cache. Import it with
//   ctr -a <socket> -n k8s.io images import --all-platforms <tar>
// which names the images after the `io.containerd.image.name` annotations of index.json.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

/** The general-purpose image: `sh` by default. */
export const BUSYBOX_IMAGE = "docker.io/library/busybox:latest";
/** The same layer, with `sleep infinity` as its command: set as containerd's CRI `sandbox_image`. */
export const PAUSE_IMAGE = "crane.local/pause:1";
/** Bump when the image content changes for the same busybox binary (it is part of cache keys). */
export const BUSYBOX_IMAGE_FORMAT = 1;

export const DEFAULT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** Applets linked in /bin. A name the binary lacks only fails when called ("applet not found"). */
export const BUSYBOX_APPLETS: readonly string[] = [
  "[",
  "ash",
  "awk",
  "base64",
  "basename",
  "cat",
  "chmod",
  "chown",
  "cmp",
  "cp",
  "cut",
  "date",
  "dd",
  "df",
  "diff",
  "dirname",
  "du",
  "hexdump",
  "echo",
  "env",
  "expr",
  "false",
  "find",
  "free",
  "grep",
  "gunzip",
  "gzip",
  "head",
  "hostname",
  "httpd",
  "id",
  "ifconfig",
  "ip",
  "kill",
  "killall",
  "less",
  "ln",
  "ls",
  "md5sum",
  "mkdir",
  "mkfifo",
  "mktemp",
  "more",
  "mount",
  "mv",
  "nc",
  "netstat",
  "nproc",
  "nslookup",
  "od",
  "pidof",
  "ping",
  "printf",
  "ps",
  "pwd",
  "readlink",
  "realpath",
  "rm",
  "rmdir",
  "sed",
  "seq",
  "setsid",
  "sh",
  "sha256sum",
  "sleep",
  "sort",
  "stat",
  "stty",
  "sync",
  "tail",
  "tar",
  "tee",
  "test",
  "timeout",
  "top",
  "touch",
  "tr",
  "true",
  "tty",
  "umount",
  "uname",
  "uniq",
  "uptime",
  "usleep",
  "vi",
  "watch",
  "wc",
  "wget",
  "which",
  "whoami",
  "xargs",
  "yes",
];

// ------------------------------------------------------------------------------------------------ tar

export type TarEntry =
  | { type: "file"; path: string; mode?: number; data: Buffer | string; uid?: number; gid?: number }
  | { type: "dir"; path: string; mode?: number; uid?: number; gid?: number }
  | { type: "symlink"; path: string; target: string };

const BLOCK = 512;

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar: "${value}" does not fit in ${length} bytes`);
  bytes.copy(buf, offset);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits, zero padded, then NUL.
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar: ${value} does not fit in a ${length}-byte field`);
  writeString(buf, offset, length, digits.padStart(length - 1, "0") + "\0");
}

/** Splits a long path into ustar's prefix (155) and name (100) at a slash. */
function splitPath(p: string): { name: string; prefix: string } {
  if (Buffer.byteLength(p) <= 100) return { name: p, prefix: "" };
  for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${p}`);
}

function tarHeader(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const fullPath = entry.type === "dir" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
  const { name, prefix } = splitPath(fullPath);
  const defaultMode = entry.type === "dir" ? 0o755 : entry.type === "symlink" ? 0o777 : 0o644;
  const mode = entry.type === "symlink" ? 0o777 : (entry.mode ?? defaultMode);
  const uid = entry.type === "symlink" ? 0 : (entry.uid ?? 0);
  const gid = entry.type === "symlink" ? 0 : (entry.gid ?? 0);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, mode);
  writeOctal(h, 108, 8, uid);
  writeOctal(h, 116, 8, gid);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, 0); // mtime: fixed for reproducible digests
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h[156] = entry.type === "dir" ? 0x35 /* '5' */ : entry.type === "symlink" ? 0x32 /* '2' */ : 0x30; /* '0' */
  if (entry.type === "symlink") writeString(h, 157, 100, entry.target);
  writeString(h, 257, 6, "ustar\0");
  writeString(h, 263, 2, "00");
  writeString(h, 265, 32, uid === 0 ? "root" : "");
  writeString(h, 297, 32, gid === 0 ? "root" : "");
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  writeString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** A POSIX ustar archive of the entries, in the given order, closed by two zero blocks. */
export function createTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.type === "file" ? (typeof entry.data === "string" ? Buffer.from(entry.data) : entry.data) : undefined;
    parts.push(tarHeader(entry, data?.length ?? 0));
    if (data && data.length > 0) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

// ------------------------------------------------------------------------------------------------ OCI

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface ImageVariant {
  /** Full reference containerd stores the image under, e.g. docker.io/library/busybox:latest. */
  name: string;
  cmd: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
}

export interface BuildBusyboxImageOptions {
  /** The static busybox binary to ship as /bin/busybox (default /bin/busybox). */
  busyboxPath?: string;
  applets?: readonly string[];
  /** Images to name in index.json; all share the one layer (default: busybox + pause). */
  images?: readonly ImageVariant[];
  /** OCI architecture (default: the host's). */
  architecture?: string;
  /** More files for the root file system, after busybox's (e.g. a setuid test probe). */
  extraEntries?: readonly TarEntry[];
}

export interface BuiltImageLayout {
  tar: Buffer;
  /** Digest of each manifest, by image name. */
  manifests: Record<string, string>;
  layerDigest: string;
  diffId: string;
}

export const DEFAULT_IMAGE_VARIANTS: readonly ImageVariant[] = [
  { name: BUSYBOX_IMAGE, cmd: ["sh"] },
  { name: PAUSE_IMAGE, cmd: ["sleep", "infinity"] },
];

export function ociArchitecture(nodeArch: string = process.arch): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return map[nodeArch] ?? nodeArch;
}

function sha256(data: Buffer): string {
  return `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`;
}

/** The "tag" part of a reference, which OCI layouts record as org.opencontainers.image.ref.name. */
function refTag(name: string): string {
  const lastSlash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  return colon > lastSlash ? name.slice(colon + 1) : "latest";
}

/** The root file system of the image: busybox, its applet links, passwd/group and the usual directories. */
export function busyboxRootfsEntries(busybox: Buffer, applets: readonly string[] = BUSYBOX_APPLETS): TarEntry[] {
  const entries: TarEntry[] = [];
  for (const dir of ["bin", "dev", "etc", "home", "proc", "root", "sbin", "sys", "usr", "usr/bin", "usr/sbin", "var", "var/log", "var/www"]) {
    entries.push({ type: "dir", path: dir, mode: dir === "root" ? 0o700 : 0o755 });
  }
  entries.push({ type: "dir", path: "tmp", mode: 0o1777 });
  entries.push({ type: "dir", path: "var/tmp", mode: 0o1777 });
  entries.push({ type: "file", path: "bin/busybox", mode: 0o755, data: busybox });
  for (const applet of [...new Set(applets)].sort()) {
    if (applet === "busybox" || applet.includes("/")) continue;
    entries.push({ type: "symlink", path: `bin/${applet}`, target: "busybox" });
  }
  entries.push({
    type: "file",
    path: "etc/passwd",
    data: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
  });
  entries.push({ type: "file", path: "etc/group", data: "root:x:0:\nnobody:x:65534:\n" });
  return entries;
}

/** Builds the whole OCI image-layout tar in memory (a few MB). */
export function buildBusyboxImageLayout(opts: BuildBusyboxImageOptions = {}): BuiltImageLayout {
  const busybox = fs.readFileSync(opts.busyboxPath ?? "/bin/busybox");
  const architecture = opts.architecture ?? ociArchitecture();
  const layerTar = createTar([...busyboxRootfsEntries(busybox, opts.applets), ...(opts.extraEntries ?? [])]);
  const diffId = sha256(layerTar);
  const layer = zlib.gzipSync(layerTar, { level: 9 }); // node writes a zero mtime: reproducible
  const layerDigest = sha256(layer);
  const blobs = new Map<string, Buffer>([[layerDigest, layer]]);
  const index: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] } = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [],
  };
  const manifests: Record<string, string> = {};

  for (const variant of opts.images ?? DEFAULT_IMAGE_VARIANTS) {
    const config = Buffer.from(
      JSON.stringify({
        created: "1970-01-01T00:00:00Z",
        architecture,
        os: "linux",
        config: {
          Env: variant.env ?? [`PATH=${DEFAULT_PATH}`],
          ...(variant.entrypoint ? { Entrypoint: variant.entrypoint } : {}),
          Cmd: variant.cmd,
          WorkingDir: variant.workingDir ?? "/",
        },
        rootfs: { type: "layers", diff_ids: [diffId] },
        history: [{ created: "1970-01-01T00:00:00Z", created_by: "crane build-image (busybox-static)" }],
      }),
    );
    const configDigest = sha256(config);
    blobs.set(configDigest, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length }],
      }),
    );
    const manifestDigest = sha256(manifest);
    blobs.set(manifestDigest, manifest);
    manifests[variant.name] = manifestDigest;
    index.manifests.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: manifestDigest,
      size: manifest.length,
      platform: { architecture, os: "linux" },
      annotations: {
        "io.containerd.image.name": variant.name,
        "org.opencontainers.image.ref.name": refTag(variant.name),
      },
    });
  }

  const entries: TarEntry[] = [
    { type: "file", path: "oci-layout", data: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
    { type: "file", path: "index.json", data: JSON.stringify(index) },
    { type: "dir", path: "blobs" },
    { type: "dir", path: "blobs/sha256" },
  ];
  for (const [digest, data] of [...blobs].sort(([a], [b]) => a.localeCompare(b))) {
    entries.push({ type: "file", path: `blobs/sha256/${digest.slice("sha256:".length)}`, data });
  }
  return { tar: createTar(entries), manifests, layerDigest, diffId };
}

/** Writes the layout tar atomically (temp file + rename), so concurrent builders never see half a file. */
export function writeBusyboxImageTar(outPath: string, opts: BuildBusyboxImageOptions = {}): BuiltImageLayout {
  const built = buildBusyboxImageLayout(opts);
  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(tmp, built.tar);
  fs.renameSync(tmp, outPath);
  return built;
}

/** sha256 (hex) of the busybox binary: with BUSYBOX_IMAGE_FORMAT it names a cached tar. */
export function busyboxFingerprint(busyboxPath = "/bin/busybox"): string {
  return crypto.createHash("sha256").update(fs.readFileSync(busyboxPath)).digest("hex");
}
