#!/usr/bin/env bash
# Installs the Debian packages udrbd's tests and demo use, if any is missing. Idempotent;
# needs root (or passwordless sudo) only when something has to be installed.
#   drbd-utils      reference drbdadm-84 / drbdmeta for config and meta-data tests
#   libnbd-bin python3-libnbd   nbdcopy, nbdinfo, nbdsh: real NBD clients
#   nbdkit          baseline NBD server for benchmarks
#   fio             benchmarks
#   fuse3           /dev/drbdN via FUSE
#   e2fsprogs xfsprogs  mkfs in system tests
#   iproute2        network namespaces
#   qemu-system-x86 qemu-utils linux-image-amd64 busybox-static kmod cpio  kernel DRBD rig
set -euo pipefail
PKGS=(drbd-utils libnbd-bin python3-libnbd nbdkit fio fuse3 e2fsprogs xfsprogs iproute2 procps psmisc
      qemu-system-x86 qemu-utils linux-image-amd64 busybox-static kmod cpio)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "udrbd: installing Debian packages: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
