#!/usr/bin/env bash
# Set up or tear down the test filesystems that crates/testfs (testfs::dir) uses.
#
#   scripts/testfs.sh up      mount ext4, btrfs, xfs (2 GiB sparse loop images) and tmpfs
#                             (idempotent: filesystems already mounted are left alone)
#   scripts/testfs.sh down    unmount all four and delete the images
#   scripts/testfs.sh status  show what is mounted
#
# Paths (must match crates/testfs/src/mount.rs):
#   images       /var/tmp/fastcopy-testfs/<fs>.img
#   mount points /var/tmp/fastcopy-testfs/mnt/<fs>   (root of each is mode 1777)
# Needs root (mkfs, mount). Takes the same flock as testfs, so it is safe to run while tests run.
set -euo pipefail

BASE=/var/tmp/fastcopy-testfs
FSES=(ext4 btrfs xfs tmpfs)
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

die() { echo "testfs.sh: $*" >&2; exit 1; }

# fstype of the topmost mount exactly at $1, or nothing.
fstype_at() {
    awk -v mp="$1" '
        { for (i = 1; i <= NF; i++) if ($i == "-") break
          p = $5; gsub(/\\040/, " ", p)
          if (p == mp) t = $(i + 1) }
        END { if (t != "") print t }' /proc/self/mountinfo
}

up_one() {
    local fs=$1 mnt=$BASE/mnt/$1 img=$BASE/$1.img cur
    cur=$(fstype_at "$mnt")
    if [[ $cur == "$fs" ]]; then
        echo "$fs: already mounted at $mnt"
        chmod 1777 "$mnt"
        return
    fi
    [[ -z $cur ]] || die "$mnt is mounted with fstype $cur; refusing to mount $fs over it"
    mkdir -p "$mnt"
    case $fs in
        tmpfs)
            mount -t tmpfs -o size=1G,mode=1777 tmpfs "$mnt"
            ;;
        *)
            local mkfs
            case $fs in
                ext4) mkfs=(mkfs.ext4 -q -F) ;;
                btrfs) mkfs=(mkfs.btrfs -q -f) ;;
                xfs) mkfs=(mkfs.xfs -q -f -m reflink=1) ;;
            esac
            command -v "${mkfs[0]}" >/dev/null || die "${mkfs[0]} not found (install e2fsprogs/btrfs-progs/xfsprogs)"
            rm -f "$img"
            truncate -s 2G "$img"
            "${mkfs[@]}" "$img" >/dev/null  # mkfs.btrfs prints a NOTE even with -q
            mount -o loop "$img" "$mnt"
            ;;
    esac
    chmod 1777 "$mnt"
    echo "$fs: mounted at $mnt"
}

down_one() {
    local fs=$1 mnt=$BASE/mnt/$1 cur
    # Unmount every layer stacked there (normally one).
    while cur=$(fstype_at "$mnt") && [[ -n $cur ]]; do
        umount "$mnt" || umount -l "$mnt"
        echo "$fs: unmounted $mnt ($cur)"
    done
    rm -f "$BASE/$fs.img"
    [[ ! -d $mnt ]] || rmdir "$mnt"
}

with_lock() {
    mkdir -p "$BASE"
    exec 9>>"$BASE/lock"
    flock 9
    "$@"
}

need_root() { [[ $(id -u) == 0 ]] || die "must be root"; }

cmd=${1:-}
case $cmd in
    up)
        need_root
        with_lock eval 'for fs in "${FSES[@]}"; do up_one "$fs"; done'
        ;;
    down)
        need_root
        with_lock eval 'for fs in "${FSES[@]}"; do down_one "$fs"; done'
        rmdir "$BASE/mnt" 2>/dev/null || true
        ;;
    status)
        for fs in "${FSES[@]}"; do
            echo "$fs: $(fstype_at "$BASE/mnt/$fs" || true)"
        done
        ;;
    *)
        echo "usage: $0 up|down|status" >&2
        exit 2
        ;;
esac
