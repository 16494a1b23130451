#!/usr/bin/env bash
# hyperfine medians of a 1 GiB copy: fastcopy, cp and std::fs::copy, with
# and without cloning, on each directory given (one per filesystem).
#
#   bash bench/hyperfine.sh DIR...
#
# Each run copies to a fresh name: in the --prepare step the previous copy is
# moved aside and the one before it deleted (one large file, not the many
# small ones that slow file creation on a journal-less ext4), then `sync`
# keeps one run's write-back out of the next one's time.
# Needs hyperfine and `cargo build --release --workspace --bins --examples`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fc=$root/target/release/fastcopy
std=$root/target/release/examples/std_copy
runs=${RUNS:-7}
for dir in "$@"; do
  fs=$(stat -f -c %T "$dir" | sed 's#ext2/ext3#ext4#')
  work=$dir/fastcopy-hyperfine
  rm -rf "$work"
  mkdir -p "$work/aside"
  head -c $((1 << 30)) /dev/urandom >"$work/src"
  sync
  cat "$work/src" >/dev/null
  # Keep one old copy aside (space: the loop filesystems hold 6 GiB), drop
  # the one before, then sync, all before the timed command starts.
  # A copy started right after a 1 GiB file was deleted ran up to 10x
  # slower on XFS, whatever made it (cp and dd too): wait for the freeing.
  # This machine is a VM that hands free memory back to the host within
  # seconds: the first touch of 1 GiB then costs ~2.4 s of system time (cp
  # of 1 GiB within /dev/shm: 2.70 s, then 0.34 s). So the last step
  # writes and frees 1.5 GiB in /dev/shm, and the timed copy reuses it.
  prep="rm -f $work/aside/*; if [ -e $work/dst ]; then mv $work/dst $work/aside/old; fi; sync; sleep 3; head -c 1536M /dev/zero >/dev/shm/fastcopy-touch; rm -f /dev/shm/fastcopy-touch"
  echo "### $fs: 1 GiB, warm cache, $runs runs" >&2
  hyperfine -N --warmup 1 --runs "$runs" --prepare "sh -c '$prep'" \
    --export-json "$root/bench/results/hyperfine-$fs.json" \
    -n fastcopy "$fc $work/src $work/dst" \
    -n cp "cp $work/src $work/dst" \
    -n "std::fs::copy" "$std $work/src $work/dst" \
    -n "fastcopy --reflink=never" "$fc --reflink=never $work/src $work/dst" \
    -n "cp --reflink=never" "cp --reflink=never $work/src $work/dst" >&2
  rm -rf "$work"
done
python3 - "$root"/bench/results/hyperfine-*.json <<'PY'
import json, sys, os
print("| filesystem | command | median | mean ± σ | vs cp (same reflink) | vs std::fs::copy |")
print("|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    fs = os.path.basename(path)[len("hyperfine-"):-len(".json")]
    res = {r["command"]: r for r in json.load(open(path))["results"]}
    for name, r in res.items():
        # std::fs::copy uses copy_file_range, which clones where cp clones.
        base = res["cp --reflink=never" if "never" in name else "cp"]
        std = res["std::fs::copy"]
        print(f"| {fs} | `{name}` | {r['median']*1000:.1f} ms | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} ms "
              f"| {r['median']/base['median']:.2f}x | {r['median']/std['median']:.2f}x |")
PY
