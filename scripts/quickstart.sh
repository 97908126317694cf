#!/usr/bin/env bash
# From a fresh Debian/Ubuntu machine (as root) to a running one-node cluster and a finished container job:
# builds the single executable, installs it as /usr/local/bin/crane (+ ccon, cbatch, crun, cqueue, ccancel,
# cinfo), prepares the node's containerd with a locally built busybox image, starts `crane up` and runs
# `ccon run busybox ...`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build
install -m 0755 dist/crane /usr/local/bin/crane
for tool in ccon cbatch crun cqueue ccancel cinfo; do ln -sf crane "/usr/local/bin/$tool"; done
bash scripts/prepare-node.sh
crane up
ccon run busybox sh -c 'echo "hello from a crane container job on $(hostname)"'
cqueue -a
