// Entry of a child process that runs simulated nodes (index.ts) for a benchmark, so that their work does not share
// a CPU thread with the benchmark's own: `fork("src/modes/simnodes/child.ts", ["--config", FILE, "--port", N])` under
// tsx. Not a crane command. It sends its SimStats to the parent over IPC every STATS_MS (and when asked), and
// exits on SIGTERM or when the parent goes.
import { loadConfig } from "../../core/config";
import { startSimulatedNodes } from "./index";

const STATS_MS = 250;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const configFile = arg("config");
  const port = Number(arg("port"));
  if (!configFile || !port) throw new Error("usage: child.ts --config FILE --port PORT [--nodes a,b,c]");
  const config = loadConfig(configFile);
  const sim = await startSimulatedNodes({ config, port, names: arg("nodes")?.split(",") });
  const send = () => process.send?.({ type: "stats", at: Date.now(), stats: sim.stats() });
  const timer = setInterval(send, STATS_MS);
  process.on("message", (m: { type?: string }) => m?.type === "stats" && send());
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    void sim.stop().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("disconnect", stop); // the benchmark went: nothing is left to serve
  process.send?.({ type: "ready", port: sim.port });
}

main().catch((e: Error) => {
  console.error(`simulated nodes: ${e.stack ?? e.message}`);
  process.exit(1);
});
