// CRI has no call that signals a container's process (StopContainer only stops it), so `ccancel --signal` reaches a
// container step through containerd's own API, with the `ctr` tool that ships with containerd. CRI's containers
// live in containerd's "k8s.io" namespace under the same ids.
import { execFile } from "node:child_process";

const CTR = "/usr/bin/ctr";
const CRI_NAMESPACE = "k8s.io";
const TIMEOUT_MS = 10_000;

/** Sends `signal` (SIGUSR1) to the container's main process; resolves "" once sent, else with why it was not. */
export function signalContainer(runtimeEndpoint: string, containerId: string, signal: NodeJS.Signals): Promise<string> {
  const address = runtimeEndpoint.replace(/^unix:\/\//, "");
  const args = ["--address", address, "--namespace", CRI_NAMESPACE, "task", "kill", "--signal", signal, containerId];
  return new Promise((resolve) => {
    execFile(CTR, args, { env: {}, timeout: TIMEOUT_MS }, (e, _stdout, stderr) => {
      if (!e) return resolve("");
      const detail = String(stderr).trim() || e.message;
      resolve(`cannot send ${signal} to container ${containerId.slice(0, 12)}: ${detail}`);
    });
  });
}
