// How fast the CLI starts, against a bare `node -e 0` (the Node that the single executable embeds):
// `crane --version`, and a held `cbatch -H --wrap true` to its reply from a private local cluster started here.
// Builds nothing: uses dist/crane (npm run build first). Runs are interleaved so machine noise hits all alike.
// Peak RSS comes from /usr/bin/time (Debian package `time`), in separate runs so that it does not add to the times.
//   npm run bench:cli                     (BENCH_CLI_RUNS=20 by default)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FULL_BUNDLE_ENV } from "../src/core/cli/sea-app";
import { freePortBase } from "../test/harness/cluster";

const ROOT = path.join(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const CRANE = path.join(DIST, "crane");
const NODE = path.join(ROOT, "node_modules", "node", "bin", "node");
const TIME = "/usr/bin/time";
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 20);
const WARMUP = 2;
const RSS_RUNS = 3;

interface Case {
  name: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What the command must print on stdout, checked on every run. */
  expect: RegExp;
}

function runOnce(c: Case): number {
  const t0 = performance.now();
  const r = spawnSync(c.argv[0]!, c.argv.slice(1), { env: c.env ?? process.env, cwd: c.cwd, encoding: "utf8", timeout: 30_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0 || !c.expect.test(r.stdout)) {
    throw new Error(`${c.name}: exit ${r.status ?? r.signal}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
  }
  return ms;
}

/** Peak RSS in MB (max over a few runs), or null without /usr/bin/time. */
function peakRss(c: Case): number | null {
  if (!fs.existsSync(TIME)) return null;
  let kb = 0;
  for (let i = 0; i < RSS_RUNS; i++) {
    const r = spawnSync(TIME, ["-f", "%M", ...c.argv], { env: c.env ?? process.env, cwd: c.cwd, encoding: "utf8", timeout: 30_000 });
    const m = /(\d+)\s*$/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`${c.name} under ${TIME}: exit ${r.status}, stderr ${JSON.stringify(r.stderr)}`);
    kb = Math.max(kb, Number(m[1]));
  }
  return Math.round(kb / 102.4) / 10;
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Number(sorted[i]!.toFixed(1));
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(" ")}: exit ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`);
}

async function main(): Promise<void> {
  for (const f of [CRANE, NODE]) if (!fs.existsSync(f)) throw new Error(`${path.relative(ROOT, f)} missing (npm ci; npm run build)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crane-bench-cli-"));
  const port = await freePortBase(4);
  const env = { ...process.env, CRANE_CONFIG: path.join(dir, "config.yaml") };
  let up = false;
  try {
    sh(CRANE, ["up", "--dir", dir, "--port", String(port), "--no-containers"], env);
    up = true;
    const cbatch: Case = {
      name: "cbatch -H --wrap true",
      argv: [path.join(DIST, "cbatch"), "-H", "--wrap", "true"],
      env,
      cwd: dir,
      expect: /^Job id allocated: \d+\.\n$/,
    };
    const cases: Case[] = [
      { name: "node -e 0", argv: [NODE, "-e", "0"], expect: /^$/ },
      { name: "crane --version", argv: [CRANE, "--version"], expect: /^crane \S+\nSource Time: / },
      cbatch,
      // The same from the full bundle, as before user commands had their own (src/core/cli/sea-app.ts).
      { ...cbatch, name: "  from the full bundle", env: { ...env, [FULL_BUNDLE_ENV]: "1" } },
    ];
    const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
    for (let i = 0; i < WARMUP + RUNS; i++) {
      for (const c of cases) {
        const ms = runOnce(c);
        if (i >= WARMUP) times.get(c.name)!.push(ms);
      }
    }
    const results = cases.map((c) => {
      const t = times.get(c.name)!.sort((a, b) => a - b);
      return { name: c.name, medianMs: quantile(t, 0.5), p90Ms: quantile(t, 0.9), rssMB: peakRss(c) };
    });
    const base = results[0]!;
    const out = results.map((r) => ({
      ...r,
      medianRatio: Number((r.medianMs / base.medianMs).toFixed(2)),
      p90Ratio: Number((r.p90Ms / base.p90Ms).toFixed(2)),
    }));
    console.log(
      `${RUNS} runs each (after ${WARMUP} warm-up), ${os.cpus().length} CPUs, ${path.relative(ROOT, NODE)} ${spawnSync(NODE, ["--version"], { encoding: "utf8" }).stdout.trim()}`,
    );
    for (const r of out) {
      const rss = r.rssMB === null ? "rss n/a (no /usr/bin/time)" : `rss ${r.rssMB} MB`;
      console.log(
        `${r.name.padEnd(24)} median ${String(r.medianMs).padStart(6)} ms (${r.medianRatio}x)  p90 ${String(r.p90Ms).padStart(6)} ms (${r.p90Ratio}x)  ${rss}`,
      );
    }
    console.log(JSON.stringify({ runs: RUNS, results: out }));
  } finally {
    if (up) sh(CRANE, ["down", "--dir", dir, "--purge"], env);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
