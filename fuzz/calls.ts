// Runs a method's share of fuzz calls from one client process (one Unix identity) and tallies how they ended.
import { callSeed, planCall, type FuzzContext } from "./generate";
import type { MethodSchema } from "./schema";
import { NO_ANSWER, type Deadlines, Sender } from "./send";

/** Which call: with the run's seed this is enough to replay it alone (`--method M --identity I --call N`). */
export interface CallRef {
  method: string;
  identity: string;
  index: number;
  mutation: string;
}

const SAMPLES_KEPT = 10;

export interface Tally {
  sent: number;
  /** Outcome (gRPC status name, STREAMING, NO_ANSWER, ...) -> calls. */
  outcomes: Record<string, number>;
  /** Mutation -> calls. */
  mutations: Record<string, number>;
  /** Calls the server did not end: no status at all, or a unary call it let run into its deadline. */
  hangs: number;
  hangSamples: (CallRef & { details: string })[];
  /** Distinct details of INTERNAL answers, with a call that got each. */
  internalSamples: (CallRef & { details: string })[];
}

export function emptyTally(): Tally {
  return { sent: 0, outcomes: {}, mutations: {}, hangs: 0, hangSamples: [], internalSamples: [] };
}

export function addTally(into: Tally, t: Tally): void {
  into.sent += t.sent;
  into.hangs += t.hangs;
  for (const [k, v] of Object.entries(t.outcomes)) into.outcomes[k] = (into.outcomes[k] ?? 0) + v;
  for (const [k, v] of Object.entries(t.mutations)) into.mutations[k] = (into.mutations[k] ?? 0) + v;
  into.hangSamples.push(...t.hangSamples.slice(0, SAMPLES_KEPT - into.hangSamples.length));
  for (const s of t.internalSamples)
    if (into.internalSamples.length < SAMPLES_KEPT && !into.internalSamples.some((x) => x.details === s.details)) into.internalSamples.push(s);
}

export interface CallBatch {
  method: MethodSchema;
  ctx: FuzzContext;
  seed: number;
  identity: string;
  /** Call indices [first, first + count). */
  first: number;
  count: number;
  concurrency: number;
  deadlines: Deadlines;
  addresses: ConstructorParameters<typeof Sender>[0];
  shouldStop?: () => boolean;
}

export async function runCalls(b: CallBatch): Promise<Tally> {
  const tally = emptyTally();
  const sender = new Sender(b.addresses, b.deadlines);
  let next = b.first;
  const end = b.first + b.count;
  const lane = async () => {
    while (next < end && !b.shouldStop?.()) {
      const index = next++;
      const plan = planCall(b.method, b.ctx, callSeed(b.seed, b.method.id, b.identity, index));
      const ref: CallRef = { method: b.method.id, identity: b.identity, index, mutation: plan.mutation };
      tally.sent++;
      tally.mutations[plan.mutation] = (tally.mutations[plan.mutation] ?? 0) + 1;
      const r = await sender.send(b.method, plan);
      tally.outcomes[r.outcome] = (tally.outcomes[r.outcome] ?? 0) + 1;
      // A unary call the server let run into the fuzzer's own deadline was not answered in time (one that carried a
      // broken grpc-timeout of its own is not counted: the server's deadline is then whatever it made of it).
      const ownDeadline = plan.headers["grpc-timeout"] === undefined;
      const hang = r.outcome === NO_ANSWER || (r.outcome === "DEADLINE_EXCEEDED" && !b.method.serverStream && ownDeadline);
      if (hang) {
        tally.hangs++;
        if (tally.hangSamples.length < SAMPLES_KEPT) tally.hangSamples.push({ ...ref, details: r.details });
      }
      if (r.outcome === "INTERNAL" && tally.internalSamples.length < SAMPLES_KEPT && !tally.internalSamples.some((s) => s.details === r.details)) {
        tally.internalSamples.push({ ...ref, details: r.details.slice(0, 300) });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(b.concurrency, b.count)) }, lane));
  } finally {
    sender.close();
  }
  return tally;
}
