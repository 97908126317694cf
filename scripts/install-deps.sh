#!/usr/bin/env bash
# Installs what building and testing crane needs on a fresh Debian/Ubuntu machine (as root):
# Debian's containerd, runc, CNI plugins, busybox-static (test images are built from it), tmux, util-linux
# (setpriv), munge, gcc and libc6-dev (a static setuid probe for a security test), faketime (clock jumps), zsh (its completion script is tested), Node/npm if missing, then the project's npm packages (which pin Node 24 for everything else).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in containerd runc containernetworking-plugins busybox-static iptables tmux util-linux iproute2 ca-certificates munge gcc libc6-dev faketime zsh; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
npm ci --no-audit --no-fund
