#!/bin/sh
# Guest boot (busybox init's sysinit step): mounts, modules, network, hostname, 9p share.
# Everything printed here lands on the serial console, which the host keeps as a log;
# lines starting with "UDRBD-RIG-" are markers the host watches for.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

fatal() { echo "UDRBD-RIG-FATAL: $*" >/dev/console; exit 1; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# devtmpfs is not auto-mounted for an initramfs root.
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/drbd /run/lock /run/rig

# Value of "KEY=value" on the kernel command line (the host passes udrbd.* there).
arg() {
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1="*) echo "${w#*=}"; return 0 ;; esac
  done
  return 1
}

# Accelerator probe: the host only wants to know that a kernel reaches user space.
if arg udrbd.probe >/dev/null; then
  echo "UDRBD-RIG-PROBE-OK" >/dev/console
  poweroff -f
fi

# Every kernel message except debug goes to the serial log, DRBD's included, whatever
# loglevel the command line asked for.
dmesg -n 7

hn=$(arg udrbd.hostname) && hostname "$hn"

kver=$(uname -r)
while read -r m; do
  [ -n "$m" ] || continue
  # A failing optional provider (crc32c-intel on a CPU without SSE4.2) is not fatal;
  # a missing drbd is caught below.
  insmod "/lib/modules/$kver/$m" || echo "UDRBD-RIG-WARN: insmod $m failed" >/dev/console
done </etc/rig/modules
[ -r /proc/drbd ] || fatal "drbd module did not load"

ip link set lo up
if ip=$(arg udrbd.ip); then
  ip link show eth0 >/dev/null 2>&1 || fatal "no eth0 (virtio_net missing?)"
  # No IPv6 on the test link unless asked for (udrbd.ipv6=1): its autoconfiguration and
  # multicast reports would otherwise be the noise in every pcap.
  arg udrbd.ipv6 >/dev/null || echo 1 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6
  ip addr add "$ip" dev eth0 || fatal "cannot set $ip on eth0"
  ip link set eth0 up || fatal "cannot bring eth0 up"
fi

mkdir -p /share
# cache=none: the host writes command files behind the guest's back, so nothing may be cached.
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=262144 share /share \
  || fatal "cannot mount the 9p share"
mkdir -p /share/cmd /share/out

{
  echo "kernel=$kver"
  echo "hostname=$(hostname)"
  head -1 /proc/drbd
} >/share/ready.tmp && mv /share/ready.tmp /share/ready || fatal "cannot write to the share"
echo "UDRBD-RIG-READY" >/dev/console
