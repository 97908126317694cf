// The fault suite (faults/, `npm run faults`) as tests: one cluster on one private containerd, each fault injected
// while a mix of batch, crun and container jobs runs, and every count of its row must be zero: no job lost, none
// ended otherwise than it should, no output missing, nothing left behind. Needs root, containerd/runc/ctr,
// busybox-static, CNI plugins, faketime and `npm run build`; skipped with the reason otherwise.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNothing, type Leftovers } from "../../faults/leftovers";
import { FAULTS, FaultSuite } from "../../faults/scenarios";
import { problemsOf } from "../../faults/table";
import { binaryMissingReason } from "../harness/cluster";
import { containerdUnavailableReason } from "../harness/containerd";
import { faketimeMissingReason } from "../harness/faketime";

/**
 * Faults whose row is not yet all zero, each with the bug behind it (see the README's fault table). They run as
 * `it.fails`: when the bug is fixed the test turns red, and the fault leaves this list.
 */
const KNOWN_BUGS: Record<string, string> = {};

const unavailable = binaryMissingReason() ?? containerdUnavailableReason() ?? faketimeMissingReason();

describe.skipIf(!!unavailable)("faults injected while jobs run", () => {
  let suite: FaultSuite | undefined;
  let leftAfterPurge: Promise<Leftovers> | undefined;
  const stopOnce = () => (leftAfterPurge ??= suite!.stop());

  beforeAll(async () => {
    suite = await FaultSuite.start();
  });

  afterAll(async () => {
    if (suite) await stopOnce();
  });

  for (const [i, fault] of FAULTS.entries()) {
    const test = fault.name in KNOWN_BUGS ? it.fails : it;
    test(`${fault.name}: nothing lost, failed wrongly or left behind`, { timeout: 240_000 }, async () => {
      const row = await suite!.run(fault, i + 1);
      expect(problemsOf(row)).toEqual([]);
    });
  }

  it("crane down --purge leaves nothing of the cluster", async () => {
    const left = await stopOnce();
    expect(isNothing(left) ? [] : left).toEqual([]);
  });
});
