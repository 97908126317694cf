// A fuzz client process, started under another Unix identity (setpriv): it reads call batches as JSON lines on
// stdin and answers each with its tally as one JSON line on stdout. Exits when stdin closes.
import readline from "node:readline";
import { runCalls, type CallBatch } from "./calls";
import { loadMethods } from "./schema";

export type WorkerRequest = Omit<CallBatch, "method" | "shouldStop"> & { methodId: string };

const methods = new Map(loadMethods().map((m) => [m.id, m]));
const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  queue = queue.then(async () => {
    const req = JSON.parse(line) as WorkerRequest;
    const method = methods.get(req.methodId);
    if (!method) throw new Error(`unknown method ${req.methodId}`);
    const tally = await runCalls({ ...req, method });
    process.stdout.write(`${JSON.stringify(tally)}\n`);
  });
});
lines.on("close", () => void queue.then(() => process.exit(0)));
