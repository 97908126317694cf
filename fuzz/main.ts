// `npm run fuzz`: fuzzes every public gRPC method of ctld and craned on a private local cluster (see engine.ts).
//   --per-method N   calls per method (default 10000)
//   --seed S         the run's seed (default: random, printed); with it any call can be replayed
//   --method M       only methods whose "Service/Method" contains M (repeatable)
//   --identity I     only calls from root, nobody or stranger (repeatable)
//   --call N         replay call number N alone (with --seed, --method and --identity)
//   --concurrency C  calls in flight per client process (default 16)
//   --keep           leave the cluster running at the end, to read its logs
import { parseArgs } from "node:util";
import { runFuzz, type Identity } from "./engine";

const IDENTITIES: Identity[] = ["root", "nobody", "stranger"];

function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${flag} wants a non-negative integer, not "${text}"`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "per-method": { type: "string" },
      seed: { type: "string" },
      method: { type: "string", multiple: true },
      identity: { type: "string", multiple: true },
      call: { type: "string" },
      concurrency: { type: "string" },
      keep: { type: "boolean" },
    },
  });
  for (const i of values.identity ?? []) if (!IDENTITIES.includes(i as Identity)) throw new Error(`--identity is one of ${IDENTITIES.join(", ")}, not "${i}"`);
  if (process.getuid?.() !== 0) throw new Error("the fuzzer starts a cluster (cgroups) and clients under other uids: run it as root");
  const seed = positiveInt("seed", values.seed, Math.floor(Math.random() * 2 ** 31));

  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) return void process.stderr.write("still cleaning up (crane down --purge); wait a moment\n");
    process.stderr.write("\ninterrupted: finishing the calls in flight, then removing the cluster\n");
    interrupt.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const report = await runFuzz({
    perMethod: positiveInt("per-method", values["per-method"], 10_000),
    seed,
    methods: values.method,
    identities: values.identity as Identity[] | undefined,
    call: values.call === undefined ? undefined : positiveInt("call", values.call, 0),
    concurrency: positiveInt("concurrency", values.concurrency, 16) || 1,
    keepCluster: values.keep,
    log: (line) => console.log(line),
    signal: interrupt.signal,
  });
  const t = report.total;
  console.log(
    `total: sent ${t.sent}; ${Object.entries(t.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  console.log(
    `mutations: ${Object.entries(t.mutations)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  console.log(report.verdict);
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`fuzz: ${e.message}`);
    process.exit(2);
  },
);
