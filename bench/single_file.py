#!/usr/bin/env python3
"""Times one large-file copy with fastcopy, cp and std::fs::copy, interleaved.

Usage: bench/single_file.py [--size-mib N] [--runs N] DIR [DIR...]

For each DIR (one per filesystem) it writes a random source file once, then
runs every command once per round, in turn (A B C A B C ...), so that noise
from the shared machine hits all of them alike. The destination of the
previous run is renamed aside before the next run and deleted only after the
timing (deleting right before a timed run slows file creation on this
machine's ext4). Prints a Markdown table of medians, min-max, and the ratio
to `cp` with the same reflink setting. Needs `cargo build --release` first.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASTCOPY = os.path.join(ROOT, "target/release/fastcopy")
STD_COPY = os.path.join(ROOT, "target/release/examples/std_copy")

COMMANDS = [
    # (label, argv builder, baseline label)
    ("fastcopy", lambda s, d: [FASTCOPY, s, d], "cp"),
    ("cp", lambda s, d: ["cp", s, d], "cp"),
    ("fastcopy --reflink=never", lambda s, d: [FASTCOPY, "--reflink=never", s, d], "cp --reflink=never"),
    ("cp --reflink=never", lambda s, d: ["cp", "--reflink=never", s, d], "cp --reflink=never"),
    ("std::fs::copy", lambda s, d: [STD_COPY, s, d], "cp --reflink=never"),
]


def fstype(path):
    out = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True)
    return out.stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    for tool in (FASTCOPY, STD_COPY):
        if not os.path.exists(tool):
            sys.exit(f"missing {tool}: run `cargo build --release --workspace --bins --examples`")

    print(f"| filesystem | command | median | min-max | vs baseline |")
    print(f"|---|---|---|---|---|")
    for d in args.dirs:
        work = os.path.join(d, "fastcopy-bench")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        src = os.path.join(work, "src")
        with open(src, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        # Warm the cache and settle allocation.
        subprocess.run(["cat", src], stdout=subprocess.DEVNULL, check=True)
        times = {label: [] for label, _, _ in COMMANDS}
        aside = []
        moved = 0
        for r in range(args.runs + 1):
            for label, argv, _ in COMMANDS:
                dst = os.path.join(work, "dst")
                if os.path.exists(dst):
                    old = os.path.join(work, f"old{moved}")
                    moved += 1
                    os.rename(dst, old)
                    aside.append(old)
                subprocess.run(["sync"], check=True)
                t0 = time.perf_counter()
                subprocess.run(argv(src, dst), check=True)
                t1 = time.perf_counter()
                if r > 0:  # round 0 is a warm-up
                    times[label].append(t1 - t0)
                # Keep at most a few old copies around (space on small loop fs).
                while len(aside) > 1:
                    os.unlink(aside.pop(0))
        for a in aside:
            os.unlink(a)
        med = {k: statistics.median(v) for k, v in times.items()}
        for label, _, base in COMMANDS:
            v = times[label]
            print(
                f"| {fstype(d)} | `{label}` | {med[label]*1000:.1f} ms "
                f"| {min(v)*1000:.1f}-{max(v)*1000:.1f} ms | {med[label]/med[base]:.2f}x `{base}` |"
            )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
