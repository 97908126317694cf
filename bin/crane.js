#!/usr/bin/env node
// Development launcher for the multi-call `crane` executable (any Node >= 18 may run this file).
//
// * If dist/crane exists and is newer than everything under src/ (and package.json), run it.
// * Otherwise run src/main.ts from source with the pinned Node 24 (node_modules/node) and tsx.
// Either way the invoked name is preserved, so the symlinks bin/ccon, bin/cbatch, ... behave like the
// release binary's symlinks. Exit code and terminating signal are passed through; signals are forwarded.
// Set CRANE_FROM_SOURCE=1 to always run from source.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const root = path.resolve(__dirname, "..");
const name = path.basename(process.argv[1] || "crane").replace(/\.(c|m)?js$/, "");
const args = process.argv.slice(2);

function newestMtime(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of fs.readdirSync(p)) max = Math.max(max, newestMtime(path.join(p, e)));
  return max;
}

function distIsFresh(bin) {
  let built;
  try {
    built = fs.statSync(bin).mtimeMs;
  } catch {
    return false;
  }
  return built >= newestMtime(path.join(root, "src")) && built >= newestMtime(path.join(root, "package.json"));
}

function pinnedNode() {
  for (const c of [
    path.join(root, "node_modules", "node", "bin", "node"),
    path.join(root, "node_modules", `node-linux-${process.arch}`, "bin", "node"),
  ]) {
    try {
      const fd = fs.openSync(c, "r");
      const b = Buffer.alloc(4);
      fs.readSync(fd, b, 0, 4, 0);
      fs.closeSync(fd);
      if (b.toString("latin1") === "\x7fELF") return c;
    } catch {
      // try the next one
    }
  }
  return path.join(root, "node_modules", ".bin", "node");
}

let child;
const dist = path.join(root, "dist", "crane");
if (process.env.CRANE_FROM_SOURCE !== "1" && distIsFresh(dist)) {
  child = spawn(dist, args, { argv0: name, stdio: "inherit" });
} else {
  const loader = pathToFileURL(path.join(root, "node_modules", "tsx", "dist", "loader.mjs")).href;
  child = spawn(pinnedNode(), ["--import", loader, path.join(root, "src", "main.ts"), ...args], {
    stdio: "inherit",
    env: { ...process.env, CRANE_ARGV0: name },
  });
}

// Terminal-generated SIGINT already reaches the child (same process group); forward it only when it cannot have.
const forwarded = ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
if (!process.stdin.isTTY) forwarded.push("SIGINT");
else process.on("SIGINT", () => {});
for (const sig of forwarded) process.on(sig, () => child.kill(sig));

child.on("error", (err) => {
  process.stderr.write(`crane launcher: ${err.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    for (const sig of forwarded) process.removeAllListeners(sig);
    process.removeAllListeners("SIGINT");
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
