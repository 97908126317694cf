// `npm run faults`: every fault of scenarios.ts in turn on one cluster and one containerd, then the table. Exits 1 when
// any job was lost, failed wrongly or lost output, or anything was left behind; the details are printed below it.
// Needs root, containerd/runc/ctr, busybox-static, CNI plugins, faketime and `npm run build`.
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
  const suite = await FaultSuite.start();
  const rows: FaultRow[] = [];
  let purgeLeft;
  try {
    for (const [i, fault] of FAULTS.entries()) {
      process.stderr.write(`faults: ${fault.name}...\n`);
      rows.push(await suite.run(fault, i + 1));
      process.stderr.write(`${formatTable(rows.slice(-1))}\n`);
    }
  } finally {
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
