#!/usr/bin/env bash
# Measures what the Auto policy is decided from: `fastcopy --bench` on ext4,
# Btrfs, XFS and tmpfs, warm and cold, JSON into bench/results/, then a
# Markdown table (bench/summarize.py).
#
#   bash bench/policy.sh EXT4_DIR BTRFS_DIR XFS_DIR TMPFS_DIR
#
# Env: SIZES (default 1M,100M,1G), RUNS (default 5), CACHE (default both).
# Needs `cargo build --release -p fastcopy-cli`. Each directory is on the
# filesystem it names; nothing else should be running for wall times to
# mean much (the CPU-time columns are robust to other load).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
mkdir -p "$out"
for dir in "$@"; do
  fs=$(stat -f -c %T "$dir" | sed 's#ext2/ext3#ext4#')
  echo "== $fs ($dir)" >&2
  uptime >&2
  ./target/release/fastcopy --bench --json --no-progress \
    --sizes "${SIZES:-1M,100M,1G}" --runs "${RUNS:-5}" --cache "${CACHE:-both}" \
    "$dir" >"$out/$fs-${CACHE:-both}.json"
done
python3 bench/summarize.py "$out"/*-"${CACHE:-both}".json
