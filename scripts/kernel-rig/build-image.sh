#!/usr/bin/env bash
# Builds the kernel rig's boot image from installed Debian packages only (no downloads):
# a Debian kernel that ships drbd.ko (DRBD 8.4) plus an initramfs holding busybox-static,
# the virtio / 9p / drbd modules and drbd-utils. See docs/kernel-rig.md.
#
# Usage: build-image.sh [--out DIR] [--kernel VERSION] [--force]
#   --out DIR        cache directory (default: $UDRBD_RIG_CACHE or <repo>/.rig)
#   --kernel VER     kernel version (default: the newest /boot/vmlinuz-* with a drbd.ko)
#   --force          rebuild even when a matching image exists
# Env: UDRBD_RIG_EXTRA_MODULES="mod1 mod2"  more modules to load at boot (with dependencies).
#
# Prints the image directory on stdout; it holds vmlinuz, initramfs.cpio.gz and
# manifest.json. Images are keyed on kernel version + package versions + the hash of this
# script and the guest files, so an unchanged setup reuses the cached image.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${UDRBD_RIG_CACHE:-$REPO/.rig}
KVER=${UDRBD_RIG_KERNEL:-}
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --kernel) KVER=$2; shift 2 ;;
    --force) FORCE=1; shift ;;
    *) echo "usage: $0 [--out DIR] [--kernel VERSION] [--force]" >&2; exit 2 ;;
  esac
done

die() { echo "kernel rig: $*" >&2; exit 1; }

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Fail with one clear line naming what to install; the tests surface this message.
missing=()
for p in busybox-static kmod cpio drbd-utils; do pkg_installed "$p" || missing+=("$p"); done
ls /boot/vmlinuz-* >/dev/null 2>&1 || missing+=(linux-image-amd64)
[ ${#missing[@]} -eq 0 ] ||
  die "missing Debian package(s): ${missing[*]} (run scripts/install-deps.sh as root)"

if [ -z "$KVER" ]; then
  for v in $(ls /boot/vmlinuz-* | sed 's|^/boot/vmlinuz-||' | sort -rV); do
    if ls /lib/modules/"$v"/kernel/drivers/block/drbd/drbd.ko* >/dev/null 2>&1; then KVER=$v; break; fi
  done
  [ -n "$KVER" ] || die "no installed kernel ships drbd.ko (install linux-image-amd64)"
fi
[ -r "/boot/vmlinuz-$KVER" ] || die "/boot/vmlinuz-$KVER is missing or unreadable"
[ -d "/lib/modules/$KVER" ] || die "/lib/modules/$KVER is missing (package linux-image-$KVER)"

kpkg=$(dpkg-query -S "/boot/vmlinuz-$KVER" 2>/dev/null | cut -d: -f1 || true)
kpkg_ver=$( [ -n "$kpkg" ] && pkg_version "$kpkg" || echo unknown)
utils_ver=$(pkg_version drbd-utils)
bb_ver=$(pkg_version busybox-static)
script_hash=$(cat "$HERE/build-image.sh" "$HERE"/guest/* | sha256sum | cut -c1-16)
MODULES="virtio_pci virtio_blk virtio_net 9pnet_virtio 9p drbd ${UDRBD_RIG_EXTRA_MODULES:-}"
key=$(printf '%s\n' "$KVER" "$kpkg_ver" "$utils_ver" "$bb_ver" "$script_hash" "$MODULES" |
  sha256sum | cut -c1-16)
IMG="$OUT/image-$KVER-$key"

if [ "$FORCE" = 0 ] && [ -f "$IMG/manifest.json" ]; then
  echo "$IMG"
  exit 0
fi

# Unpacks the kernel ELF from a bzImage (x86 boot protocol: payload_offset at 0x248,
# relative to the protected-mode code that follows the setup sectors).
extract_vmlinux() {
  local bz=$1 out=$2 ss pm po magic
  ss=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
  [ "$ss" = 0 ] && ss=4
  pm=$(( (ss + 1) * 512 ))
  po=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
  magic=$(od -An -tx1 -j $((pm + po)) -N4 "$bz" | tr -d ' ')
  case "$magic" in
    fd377a58) tail -c +$((pm + po + 1)) "$bz" | xz -dc --single-stream >"$out" 2>/dev/null ;;
    1f8b*) tail -c +$((pm + po + 1)) "$bz" | gzip -dc >"$out" 2>/dev/null ;;
    28b52ffd) tail -c +$((pm + po + 1)) "$bz" | zstd -qdc >"$out" 2>/dev/null ;;
    *) return 1 ;;
  esac
  [ "$(od -An -tx1 -N4 "$out" | tr -d ' ')" = 7f454c46 ]
}

mkdir -p "$OUT"
TMP=$(mktemp -d "$OUT/.build-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
R="$TMP/root"

# Merged-/usr layout like the host's, so every path ldd or drbd-utils names resolves and
# /sbin/drbdadm (what the kernel calls for helpers) is /usr/sbin/drbdadm.
mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/{proc,sys,dev,run,tmp,root,share,mnt,etc/rig,var/lib/drbd}
ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
ln -s /run "$R/var/run"; ln -s /run/lock "$R/var/lock"
chmod 1777 "$R/tmp"

# busybox-static: one binary, every applet as a symlink. PID 1 is busybox init via /init.
install -m 0755 /bin/busybox "$R/usr/bin/busybox"
/bin/busybox --list-full | while read -r p; do
  case "$p" in bin/*|sbin/*) p="usr/$p" ;; esac
  [ -e "$R/$p" ] || [ -L "$R/$p" ] || ln -s /usr/bin/busybox "$R/$p"
done
ln -s /usr/bin/busybox "$R/init"

# Copies a host file to the same path in the image, following symlinks.
copy_file() { mkdir -p "$R$(dirname "$1")"; cp -L "$1" "$R$1"; }

# drbd-utils: drbdadm/drbdsetup 9.22 hand over to the -84 variants for an 8.4 kernel.
BINS=(/usr/sbin/drbdadm /usr/sbin/drbdsetup /usr/sbin/drbdmeta /usr/lib/drbd/drbdadm-84
      /usr/lib/drbd/drbdsetup-84)
for b in "${BINS[@]}"; do
  [ -x "$b" ] || die "$b is missing (package drbd-utils)"
  copy_file "$b"
  for lib in $(ldd "$b" | grep -oE '/[^ ]+' ); do [ -e "$R$lib" ] || copy_file "$lib"; done
done

# Kernel modules in `modprobe --show-depends` order (which also lists the softdep crc32c
# providers libcrc32c needs), deduplicated; loaded by /etc/rig/boot.sh with insmod.
: >"$R/etc/rig/modules"
for m in $MODULES; do
  deps=$(modprobe -S "$KVER" --show-depends "$m" 2>&1) || die "module $m: $deps"
  while read -r verb path _; do
    [ "$verb" = insmod ] || continue
    rel=${path#/lib/modules/$KVER/}
    case "$rel" in *.ko.xz) dst=${rel%.xz} ;; *.ko.zst) dst=${rel%.zst} ;; *) dst=$rel ;; esac
    grep -qxF "$dst" "$R/etc/rig/modules" && continue
    mkdir -p "$(dirname "$R/lib/modules/$KVER/$dst")"
    # busybox insmod only reads plain .ko files.
    case "$rel" in
      *.ko.xz) xz -dc "$path" >"$R/lib/modules/$KVER/$dst" ;;
      *.ko.zst) zstd -qdc "$path" >"$R/lib/modules/$KVER/$dst" ;;
      *) cp "$path" "$R/lib/modules/$KVER/$dst" ;;
    esac
    echo "$dst" >>"$R/etc/rig/modules"
  done <<<"$deps"
done
# modules.dep for `modprobe`/`rmmod` inside the guest (reloading drbd in a test).
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -e "/lib/modules/$KVER/$f" ] && cp "/lib/modules/$KVER/$f" "$R/lib/modules/$KVER/"
done
depmod -b "$R" "$KVER" 2>/dev/null || die "depmod failed for the image"

install -m 0644 "$HERE/guest/inittab" "$R/etc/inittab"
install -m 0755 "$HERE/guest/boot.sh" "$HERE/guest/serve.sh" "$HERE/guest/run-one.sh" "$R/etc/rig/"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
printf '127.0.0.1 localhost\n' >"$R/etc/hosts"

mkdir -p "$TMP/img"
# Fast gzip: the kernel unpacks it under emulation on every boot; -1 vs -9 barely differs in size.
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
  gzip -1 >"$TMP/img/initramfs.cpio.gz"
# Boot the uncompressed ELF through PVH when the kernel supports it: under TCG, the
# bzImage's own xz decompression alone takes 5-8 s of every boot.
kernel_file=vmlinuz
if extract_vmlinux "/boot/vmlinuz-$KVER" "$TMP/img/vmlinux" &&
   grep -qx 'CONFIG_PVH=y' "/boot/config-$KVER" 2>/dev/null; then
  kernel_file=vmlinux
else
  rm -f "$TMP/img/vmlinux"
  cp "/boot/vmlinuz-$KVER" "$TMP/img/vmlinuz"
fi

mods_json=$(sed 's/.*/"&"/' "$R/etc/rig/modules" | paste -sd, -)
cat >"$TMP/img/manifest.json" <<EOF
{
  "key": "$key",
  "kernelVersion": "$KVER",
  "kernelPackage": "$kpkg",
  "kernelPackageVersion": "$kpkg_ver",
  "drbdUtilsVersion": "$utils_ver",
  "busyboxVersion": "$bb_ver",
  "kernel": "$kernel_file",
  "initrd": "initramfs.cpio.gz",
  "modules": [$mods_json]
}
EOF

# Publish atomically: a concurrent build of the same key may have won; keep theirs.
if mv -T "$TMP/img" "$IMG" 2>/dev/null; then :; elif [ "$FORCE" = 1 ]; then
  rm -rf "$IMG" && mv -T "$TMP/img" "$IMG"
fi
[ -f "$IMG/manifest.json" ] || die "could not publish $IMG"
# Older images (another kernel or an older script) are dead weight: the ELF kernel is 60+ MiB.
for old in "$OUT"/image-*; do [ "$old" = "$IMG" ] || rm -rf "$old"; done
echo "$IMG"
