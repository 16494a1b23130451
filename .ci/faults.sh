#!/usr/bin/env bash
# What the fault tests (crates/fastcopy-cli/tests/faults, crates/faultrun,
# crates/fastcopy/tests/immutable.rs) need besides the loop filesystems of
# scripts/testfs.sh: tools to make and mount small filesystems, chattr and
# lsattr, setpriv, sync -f, and the overlay filesystem. Idempotent; needs
# no stdin; runs as root (CI does, with CI=true).
#
#   bash .ci/faults.sh
set -euo pipefail
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing=()
command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
command -v chattr >/dev/null || missing+=(e2fsprogs)
command -v lsattr >/dev/null || missing+=(e2fsprogs)
command -v mkfs.btrfs >/dev/null || missing+=(btrfs-progs)
command -v mkfs.xfs >/dev/null || missing+=(xfsprogs)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v mount >/dev/null || missing+=(mount)
command -v losetup >/dev/null || missing+=(mount)
command -v sync >/dev/null || missing+=(coreutils)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2046
  apt-get install -y -qq $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

# overlayfs: built in, or a module to load.
if ! grep -qw overlay /proc/filesystems; then
  modprobe overlay 2>/dev/null || true
fi
grep -qw overlay /proc/filesystems || { echo "faults.sh: no overlay filesystem in this kernel" >&2; exit 1; }

# Loop devices for the small filesystems the disk-full tests make.
[ -e /dev/loop-control ] || { echo "faults.sh: no /dev/loop-control" >&2; exit 1; }

# Leftovers of an earlier, interrupted run (mounts first, then images).
base=/var/tmp/fastcopy-faults
if [ -d "$base" ]; then
  awk -v b="$base/" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  rm -rf "$base"
fi

setpriv --version | head -1
command -v chattr lsattr
echo "faults.sh: ready"
