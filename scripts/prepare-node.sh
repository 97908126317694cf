#!/usr/bin/env bash
# Prepares this machine (Debian 12, as root) to run crane container jobs with the system containerd:
#   1. installs containerd, runc, CNI plugins, busybox-static, iptables (only what is missing);
#   2. writes /etc/containerd/config.toml (CRI with restrict_oom_score_adj, local pause image, CNI dirs),
#      keeping a previous file not written by this script as config.toml.crane-backup-<time>;
#   3. writes the pod network /etc/cni/net.d/10-crane.conflist (bridge crane0, host-local, portmap);
#   4. (re)starts containerd: with systemd if it runs, else in the background (pidfile /run/crane-containerd.pid,
#      log /var/log/crane-containerd.log), only when it is down or its config changed;
#   5. builds the busybox OCI image (docker.io/library/busybox:latest + pause image crane.local/pause:1) and
#      imports it into the k8s.io namespace, so no registry is needed.
# Re-running it changes nothing that is already in place.
#
# usage: scripts/prepare-node.sh [--subnet CIDR] [--image-tar FILE] [--shell-image-builder]
#   --subnet CIDR          pod network (default 10.89.0.0/16, or $CRANE_POD_SUBNET)
#   --image-tar FILE       import this image tar instead of building one
#   --shell-image-builder  build the image with tar/gzip/sha256sum even when the repo's Node tools exist
set -euo pipefail

SUBNET="${CRANE_POD_SUBNET:-10.89.0.0/16}"
BRIDGE="crane0"
NETWORK="crane"
IMAGE_TAR=""
FORCE_SHELL_BUILDER=0
CONFIG=/etc/containerd/config.toml
CNI_CONF_DIR=/etc/cni/net.d
CNI_CONFLIST="$CNI_CONF_DIR/10-crane.conflist"
SOCKET=/run/containerd/containerd.sock
PIDFILE=/run/crane-containerd.pid
LOGFILE=/var/log/crane-containerd.log
IMAGE_DIR=/var/lib/crane/images
BUSYBOX_IMAGE="docker.io/library/busybox:latest"
PAUSE_IMAGE="crane.local/pause:1"
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'prepare-node: %s\n' "$*"; }
die() { printf 'prepare-node: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --subnet) SUBNET="${2:?--subnet needs a CIDR}"; shift 2 ;;
    --image-tar) IMAGE_TAR="${2:?--image-tar needs a file}"; shift 2 ;;
    --shell-image-builder) FORCE_SHELL_BUILDER=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$1\" (see --help)" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and manages containerd)"
[[ "$SUBNET" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] || die "subnet \"$SUBNET\" is not an IPv4 CIDR like 10.89.0.0/16"

# ------------------------------------------------------------------------------------------------ 1. packages

PACKAGES=(containerd runc containernetworking-plugins busybox-static iptables)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" || {
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  }
else
  log "packages present: ${PACKAGES[*]}"
fi

# ------------------------------------------------------------------------------------------------ 2. containerd config

# Writes $2 to $1 if the content differs; returns 0 when it changed the file. A previous file that does not
# contain the marker $3 (i.e. was not written by this script) is kept as <file>.crane-backup-<time>.
install_file() {
  local target="$1" content="$2" marker="$3"
  if [ -f "$target" ] && [ "$(cat "$target")" = "$content" ]; then
    return 1
  fi
  mkdir -p "$(dirname "$target")"
  if [ -f "$target" ] && ! grep -qF -- "$marker" "$target"; then
    local backup
    backup="$target.crane-backup-$(date +%Y%m%d-%H%M%S)"
    cp -p "$target" "$backup"
    log "kept the previous $target as $backup"
  fi
  printf '%s\n' "$content" >"$target.crane-tmp"
  mv "$target.crane-tmp" "$target"
  return 0
}

CONTAINERD_CONFIG="# Written by crane scripts/prepare-node.sh (a previous different file is kept as config.toml.crane-backup-*).
version = 2

[plugins]
  [plugins.\"io.containerd.grpc.v1.cri\"]
    sandbox_image = \"$PAUSE_IMAGE\"
    # Required on VMs where runc may not lower oom_score_adj (RunPodSandbox fails otherwise).
    restrict_oom_score_adj = true
    [plugins.\"io.containerd.grpc.v1.cri\".cni]
      bin_dir = \"/usr/lib/cni\"
      conf_dir = \"$CNI_CONF_DIR\"
    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]
      runtime_type = \"io.containerd.runc.v2\"
      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]
        # crane places pods under its job cgroups by path (cgroupfs driver).
        SystemdCgroup = false
  [plugins.\"io.containerd.internal.v1.opt\"]
    path = \"/var/lib/containerd/opt\""

config_changed=0
if install_file "$CONFIG" "$CONTAINERD_CONFIG" "# Written by crane scripts/prepare-node.sh"; then
  config_changed=1
  log "wrote $CONFIG"
else
  log "$CONFIG is up to date"
fi

# ------------------------------------------------------------------------------------------------ 3. CNI network

ip2int() { local IFS=.; read -r a b c d <<<"$1"; echo $(((a << 24) | (b << 16) | (c << 8) | d)); }

# Fails when another route (not our bridge's) overlaps the pod subnet.
check_subnet() {
  local net="${SUBNET%/*}" bits="${SUBNET#*/}" dst dev start size other_start other_size obits
  start=$(($(ip2int "$net") & ~((1 << (32 - bits)) - 1) & 0xffffffff))
  size=$((1 << (32 - bits)))
  while read -r dst _ dev _; do
    [ "$dst" = "default" ] && continue
    [ "$dev" = "$BRIDGE" ] && continue
    case "$dst" in */*) obits="${dst#*/}" ;; *) obits=32 ;; esac
    other_start=$(($(ip2int "${dst%/*}") & ~((1 << (32 - obits)) - 1) & 0xffffffff))
    other_size=$((1 << (32 - obits)))
    if [ $start -lt $((other_start + other_size)) ] && [ $other_start -lt $((start + size)) ]; then
      die "pod subnet $SUBNET overlaps route \"$dst dev $dev\"; choose another with --subnet"
    fi
  done < <(ip -4 route show table main | awk '{ for (i = 1; i <= NF; i++) if ($i == "dev") { print $1, "dev", $(i + 1), "x"; break } }')
}
check_subnet

CNI_CONFIG="{
  \"cniVersion\": \"1.0.0\",
  \"name\": \"$NETWORK\",
  \"plugins\": [
    {
      \"type\": \"bridge\",
      \"bridge\": \"$BRIDGE\",
      \"isGateway\": true,
      \"ipMasq\": true,
      \"hairpinMode\": true,
      \"ipam\": {
        \"type\": \"host-local\",
        \"ranges\": [[{ \"subnet\": \"$SUBNET\" }]],
        \"routes\": [{ \"dst\": \"0.0.0.0/0\" }]
      }
    },
    { \"type\": \"portmap\", \"capabilities\": { \"portMappings\": true } }
  ]
}"
if install_file "$CNI_CONFLIST" "$CNI_CONFIG" "\"bridge\": \"$BRIDGE\""; then
  config_changed=1
  log "wrote $CNI_CONFLIST (bridge $BRIDGE, subnet $SUBNET)"
else
  log "$CNI_CONFLIST is up to date"
fi
first_conf="$(find "$CNI_CONF_DIR" -maxdepth 1 -type f \( -name '*.conf' -o -name '*.conflist' -o -name '*.json' \) | sort | head -n 1)"
if [ "$first_conf" != "$CNI_CONFLIST" ]; then
  log "warning: containerd uses the first CNI config in $CNI_CONF_DIR, which is $first_conf, not $CNI_CONFLIST"
fi

# ------------------------------------------------------------------------------------------------ 4. containerd

containerd_answers() { ctr -a "$SOCKET" version >/dev/null 2>&1; }

cri_ready() {
  ctr -a "$SOCKET" plugins ls 2>/dev/null | awk '$1 == "io.containerd.grpc.v1" && $2 == "cri" { found = ($4 == "ok") } END { exit !found }'
}

wait_ready() {
  local i
  for i in $(seq 1 300); do
    if containerd_answers && cri_ready; then return 0; fi
    sleep 0.1
  done
  [ -f "$LOGFILE" ] && tail -n 20 "$LOGFILE" >&2
  die "containerd did not serve CRI on $SOCKET within 30 s"
}

our_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "containerd" ] || return 1
  echo "$pid"
}

start_background() {
  mkdir -p "$(dirname "$LOGFILE")"
  # A background job of a non-interactive shell is not a group leader: setsid does not fork, $! is containerd.
  setsid containerd --config "$CONFIG" </dev/null >>"$LOGFILE" 2>&1 &
  echo $! >"$PIDFILE"
  log "started containerd (pid $(cat "$PIDFILE"), log $LOGFILE)"
}

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl enable containerd >/dev/null 2>&1 || true
  if [ "$config_changed" -eq 1 ] || ! systemctl is-active --quiet containerd; then
    log "restarting containerd (systemd)"
    systemctl restart containerd
  else
    log "containerd is running (systemd)"
  fi
elif pid="$(our_pid)"; then
  if [ "$config_changed" -eq 1 ]; then
    log "restarting containerd (pid $pid) for the new configuration"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid"
    start_background
  else
    log "containerd is running (pid $pid)"
  fi
elif containerd_answers; then
  if [ "$config_changed" -eq 1 ]; then
    log "warning: a containerd not started by this script serves $SOCKET: restart it to apply $CONFIG"
  else
    log "containerd is running (not started by this script)"
  fi
else
  start_background
fi
wait_ready
log "containerd serves CRI on $SOCKET"

# ------------------------------------------------------------------------------------------------ 5. image

# Same image as src/core/cri/oci-image.ts, for machines without the repository's Node tools.
# Keep APPLETS in sync with BUSYBOX_APPLETS there.
APPLETS="[ ash awk base64 basename cat chmod chown cmp cp cut date dd df diff dirname du echo env expr false find free
grep gunzip gzip head hexdump hostname httpd id ifconfig ip kill killall less ln ls md5sum mkdir mkfifo mktemp more
mount mv nc netstat nproc nslookup od pidof ping printf ps pwd readlink realpath rm rmdir sed seq setsid sh
sha256sum sleep sort stat stty sync tail tar tee test timeout top touch tr true tty umount uname uniq uptime usleep
vi watch wc wget which whoami xargs yes"

oci_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;; aarch64) echo arm64 ;; armv7l) echo arm ;; ppc64le) echo ppc64le ;; s390x) echo s390x ;;
    *) uname -m ;;
  esac
}

build_image_with_shell() {
  local out="$1" work arch diff_id layer_digest layer_size entries="" name cmd cfg cfg_digest man man_digest
  work="$(mktemp -d)"
  arch="$(oci_arch)"
  (
    cd "$work"
    mkdir -p rootfs/{bin,dev,etc,home,proc,root,sbin,sys,usr/bin,usr/sbin,var/log,var/www,tmp,var/tmp} layout/blobs/sha256
    chmod 755 rootfs/* rootfs/usr/* rootfs/var/*
    chmod 700 rootfs/root
    chmod 1777 rootfs/tmp rootfs/var/tmp
    cp /bin/busybox rootfs/bin/busybox
    chmod 755 rootfs/bin/busybox
    for applet in $APPLETS; do ln -s busybox "rootfs/bin/$applet"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >rootfs/etc/passwd
    printf 'root:x:0:\nnobody:x:65534:\n' >rootfs/etc/group
    chmod 644 rootfs/etc/passwd rootfs/etc/group
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C rootfs -cf layer.tar .
  )
  diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  gzip -n -9 "$work/layer.tar"
  layer_digest="$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)"
  layer_size="$(stat -c %s "$work/layer.tar.gz")"
  mv "$work/layer.tar.gz" "$work/layout/blobs/sha256/$layer_digest"

  for variant in "$BUSYBOX_IMAGE|\"sh\"" "$PAUSE_IMAGE|\"sleep\",\"infinity\""; do
    name="${variant%%|*}"
    cmd="${variant#*|}"
    cfg="{\"created\":\"1970-01-01T00:00:00Z\",\"architecture\":\"$arch\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[$cmd],\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"$diff_id\"]}}"
    cfg_digest="$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)"
    printf '%s' "$cfg" >"$work/layout/blobs/sha256/$cfg_digest"
    man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cfg_digest\",\"size\":${#cfg}},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer_digest\",\"size\":$layer_size}]}"
    man_digest="$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)"
    printf '%s' "$man" >"$work/layout/blobs/sha256/$man_digest"
    entries="$entries${entries:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$man_digest\",\"size\":${#man},\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"},\"annotations\":{\"io.containerd.image.name\":\"$name\",\"org.opencontainers.image.ref.name\":\"${name##*:}\"}}"
  done
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$entries" >"$work/layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/layout" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

if [ -z "$IMAGE_TAR" ]; then
  mkdir -p "$IMAGE_DIR"
  IMAGE_TAR="$IMAGE_DIR/busybox.tar"
  if [ "$FORCE_SHELL_BUILDER" -eq 0 ] && [ -x "$REPO_DIR/node_modules/.bin/tsx" ] && [ -x "$REPO_DIR/node_modules/.bin/node" ]; then
    log "building the image with scripts/build-image.ts"
    (cd "$REPO_DIR" && PATH="$REPO_DIR/node_modules/.bin:$PATH" tsx scripts/build-image.ts --out "$IMAGE_TAR" >/dev/null)
  else
    log "building the image with tar, gzip and sha256sum"
    build_image_with_shell "$IMAGE_TAR"
  fi
fi
[ -f "$IMAGE_TAR" ] || die "image tar $IMAGE_TAR does not exist"
ctr -a "$SOCKET" -n k8s.io images import --all-platforms "$IMAGE_TAR" >/dev/null
for ref in "$BUSYBOX_IMAGE" "$PAUSE_IMAGE"; do
  ctr -a "$SOCKET" -n k8s.io images ls -q | grep -qxF "$ref" || die "image $ref missing after importing $IMAGE_TAR"
done
log "imported $BUSYBOX_IMAGE and $PAUSE_IMAGE from $IMAGE_TAR"
log "node ready: CRI endpoint unix://$SOCKET"
