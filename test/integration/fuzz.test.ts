// CI smoke of `npm run fuzz`: the same fuzzer with a small count per method against its own private cluster. Every
// call must be answered, no daemon may die or log an unhandled error, no handler may throw, and a normal job must
// still complete afterwards.
import { describe, expect, it } from "vitest";
import { runFuzz } from "../../fuzz/engine";
import { loadMethods } from "../../fuzz/schema";
import { binaryMissingReason } from "../harness/cluster";

const skip = binaryMissingReason();

describe.skipIf(skip)("gRPC fuzz smoke", () => {
  it("answers 100 mutated requests per public method without a crash, hang or unhandled error", async () => {
    const report = await runFuzz({ perMethod: 100, seed: 20_240_610, concurrency: 8 });
    const problems = [
      ...report.crashes,
      ...report.unhandled,
      ...report.handlerFaults,
      ...report.total.hangSamples.map((s) => `no answer: ${s.method} --identity ${s.identity} --call ${s.index} (${s.mutation}): ${s.details}`),
    ];
    expect(problems, report.verdict).toEqual([]);
    expect(report.methods.map((m) => m.method)).toEqual(loadMethods().map((m) => m.id));
    for (const m of report.methods) expect(m.tally.sent, m.method).toBe(100);
    expect(report.total.hangs).toBe(0);
    expect(report.sanity, report.sanity.details).toMatchObject({ ok: true });
    expect(report.ok, report.verdict).toBe(true);
  }, 180_000);
});
