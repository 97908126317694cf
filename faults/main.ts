// `npm run faults`: every fault of scenarios.ts in turn on one cluster and one containerd, then the table. Exits 1 when
// any job was lost, failed wrongly or lost output, or anything was left behind; the details are printed below it.
// Needs root, containerd/runc/ctr, busybox-static, CNI plugins, faketime and `npm run build`.
import fs from "node:fs";
import { binaryMissingReason } from "../test/harness/cluster";
import { containerdUnavailableReason } from "../test/harness/containerd";
import { faketimeMissingReason } from "../test/harness/faketime";
import { isNothing } from "./leftovers";
import { FAULTS, FaultSuite, type FaultRow } from "./scenarios";
import { formatTable, problemsOf } from "./table";

async function main(): Promise<number> {
  const unavailable = binaryMissingReason() ?? containerdUnavailableReason() ?? faketimeMissingReason();
  if (unavailable) {
    console.error(`faults: ${unavailable}`);
    return 2;
  }
  // `npm run faults -- disk clock` runs the faults whose names contain any of the words.
  const words = process.argv.slice(2);
  const chosen = FAULTS.map((fault, i) => ({ fault, i })).filter(({ fault }) => !words.length || words.some((w) => fault.name.includes(w)));
  const suite = await FaultSuite.start();
  const rows: FaultRow[] = [];
  let purgeLeft;
  try {
    for (const { fault, i } of chosen) {
      process.stderr.write(`faults: ${fault.name}...\n`);
      rows.push(await suite.run(fault, i + 1));
      process.stderr.write(`${formatTable(rows.slice(-1))}\n`);
    }
  } finally {
    // CRANE_FAULTS_LOGS=DIR keeps the daemons' logs (the cluster itself is removed).
    const keep = process.env.CRANE_FAULTS_LOGS;
    if (keep) fs.cpSync(suite.cluster.dir, keep, { recursive: true, filter: (f) => fs.statSync(f).isDirectory() || f.endsWith(".log") });
    purgeLeft = await suite.stop();
  }
  console.log(formatTable(rows));
  const problems = rows.flatMap((r) => problemsOf(r).map((p) => `${r.fault}: ${p}`));
  if (!isNothing(purgeLeft)) problems.push(`after crane down --purge: ${Object.values(purgeLeft).flat().join("; ")}`);
  if (problems.length > 0) console.log(`\n${problems.join("\n")}`);
  return problems.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`faults: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(2);
  },
);
