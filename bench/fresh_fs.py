#!/usr/bin/env python3
"""1 GiB copies timed on a fresh filesystem each run (run as root).

Usage: bench/fresh_fs.py [--runs N] [--size-mib N] FS [FS...]   (FS: ext4, btrfs, xfs)

Deleting a large file just before a timed copy made the next copy slow or
bimodal for every tool (see README, "Measured"). Here every run gets a new
loop filesystem: make it, mount it, write the source, sync, read the source
into the page cache, then time one command, then unmount. Commands are
interleaved (run 1 of each, run 2 of each, ...). Prints a Markdown table of
medians and the ratios to `cp` with the same reflink setting and to
`std::fs::copy`. Needs `cargo build --release --workspace --bins --examples`.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASTCOPY = os.path.join(ROOT, "target/release/fastcopy")
STD_COPY = os.path.join(ROOT, "target/release/examples/std_copy")
WORK = "/var/tmp/fastcopy-fresh"
IMG = os.path.join(WORK, "fs.img")
MNT = os.path.join(WORK, "mnt")
MASTER = os.path.join(WORK, "master")

COMMANDS = [
    ("fastcopy", lambda s, d: [FASTCOPY, s, d]),
    ("cp", lambda s, d: ["cp", s, d]),
    ("std::fs::copy", lambda s, d: [STD_COPY, s, d]),
    ("fastcopy --reflink=never", lambda s, d: [FASTCOPY, "--reflink=never", s, d]),
    ("cp --reflink=never", lambda s, d: ["cp", "--reflink=never", s, d]),
]
MKFS = {
    "ext4": ["mkfs.ext4", "-q", "-F"],
    "btrfs": ["mkfs.btrfs", "-q", "-f"],
    "xfs": ["mkfs.xfs", "-q", "-f", "-m", "reflink=1"],
}


def sh(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def fresh(fs, size_mib):
    subprocess.run(["umount", MNT], stderr=subprocess.DEVNULL)
    if os.path.exists(IMG):
        os.unlink(IMG)
    with open(IMG, "wb") as f:
        f.truncate((3 * size_mib + 1024) << 20)
    sh(*MKFS[fs], IMG)
    sh("mount", "-o", "loop", IMG, MNT)
    src = os.path.join(MNT, "src")
    sh("cp", MASTER, src)
    sh("sync")
    sh("cat", src)  # into the page cache (output discarded)
    return src


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("fs", nargs="+", choices=sorted(MKFS))
    args = ap.parse_args()
    for tool in (FASTCOPY, STD_COPY):
        if not os.path.exists(tool):
            sys.exit(f"missing {tool}: run `cargo build --release --workspace --bins --examples`")
    os.makedirs(MNT, exist_ok=True)
    if not os.path.exists(MASTER) or os.path.getsize(MASTER) != args.size_mib << 20:
        with open(MASTER, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
    print("| filesystem | command | median | min-max | vs cp (same reflink) | vs std::fs::copy |")
    print("|---|---|---|---|---|---|")
    try:
        for fs in args.fs:
            times = {label: [] for label, _ in COMMANDS}
            for _ in range(args.runs):
                for label, argv in COMMANDS:
                    src = fresh(fs, args.size_mib)
                    dst = os.path.join(MNT, "dst")
                    t0 = time.perf_counter()
                    subprocess.run(argv(src, dst), check=True)
                    times[label].append(time.perf_counter() - t0)
            med = {k: statistics.median(v) for k, v in times.items()}
            for label, _ in COMMANDS:
                v = times[label]
                base = "cp --reflink=never" if "never" in label else "cp"
                print(
                    f"| {fs} | `{label}` | {med[label] * 1000:.1f} ms "
                    f"| {min(v) * 1000:.1f}-{max(v) * 1000:.1f} ms "
                    f"| {med[label] / med[base]:.2f}x | {med[label] / med['std::fs::copy']:.2f}x |",
                    flush=True,
                )
            for label, _ in COMMANDS:
                runs = " ".join(f"{t * 1000:.0f}" for t in times[label])
                print(f"{fs} `{label}` runs (ms, in order): {runs}", file=sys.stderr, flush=True)
    finally:
        subprocess.run(["umount", MNT], stderr=subprocess.DEVNULL)
        if os.path.exists(IMG):
            os.unlink(IMG)


if __name__ == "__main__":
    main()
