#!/bin/sh
# Inputs of bench/tree.py: the Python installation (or, where it is absent,
# a generated tree of the same shape) and 10,000 files of 4 KiB, on the root
# ext4 (/var/tmp/bench) and on a 6 GiB Btrfs loop mount (/var/tmp/bench-btrfs).
# Idempotent; run as root.
set -eu
PY=${PY:-/root/.pyenv/versions/3.11.7}
EXT4=${EXT4:-/var/tmp/bench}
BTRFS=${BTRFS:-/var/tmp/bench-btrfs}
IMG=${IMG:-/var/tmp/bench-btrfs.img}

mkdir -p "$EXT4" "$BTRFS"
if ! mountpoint -q "$BTRFS"; then
    [ -f "$IMG" ] || { truncate -s 6G "$IMG"; mkfs.btrfs -q -f "$IMG"; }
    mount -o loop "$IMG" "$BTRFS"
fi
for root in "$EXT4" "$BTRFS"; do
    if [ ! -d "$root/py" ]; then
        if [ -d "$PY" ]; then
            cp -a "$PY" "$root/py"
        else
            # The same shape: ~8,300 directories, ~46,500 files, 740 MB
            # (mostly small .py/.pyc, a few large .so/.a).
            python3 - "$root/py" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
for d in range(8300):
    path = os.path.join(root, *(f"d{rnd.randrange(40)}" for _ in range(1 + d % 5)), f"p{d}")
    os.makedirs(path, exist_ok=True)
    for f in range(5 + (d % 2)):
        size = int(rnd.lognormvariate(8.3, 1.6))
        with open(os.path.join(path, f"m{f}.py"), "wb") as fh:
            fh.write(os.urandom(min(size, 4 << 20)))
PYEOF
        fi
    fi
    if [ ! -d "$root/small" ]; then
        mkdir -p "$root/small"
        python3 -c "
import os
for i in range(10000):
    open(f'$root/small/f{i:05}', 'wb').write(os.urandom(4096))"
    fi
done
sync
