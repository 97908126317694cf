// The environment crane's daemons are started with.
/**
 * V8 flags for the long-lived daemons, given through NODE_OPTIONS where they are started (crane up, the systemd
 * units): V8 reads them before any code runs. A small young generation: relaying a big log makes a buffer per
 * message, and with V8's default semi-spaces garbage piles up there between scavenges; ctld's and craned's RSS rose
 * past 250 MB while relaying a 1 GB log (npm run bench:logs), and stays near 150 MB with 2 MB at the same speed.
 */
export const DAEMON_NODE_OPTIONS = "--max-semi-space-size=2";

/** `env` with DAEMON_NODE_OPTIONS added to NODE_OPTIONS (an operator's own setting of the flag wins). */
export function daemonEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const own = env.NODE_OPTIONS ?? "";
  if (own.includes("--max-semi-space-size")) return env;
  return { ...env, NODE_OPTIONS: `${own} ${DAEMON_NODE_OPTIONS}`.trim() };
}
