#!/usr/bin/env python3
"""1 GiB copies timed on a fresh filesystem each run (run as root).

Usage: bench/fresh_fs.py [--runs N] [--size-mib N] [--methods | --preallocate | --floor] [--cold] FS [FS...]
       (FS: ext4, btrfs, xfs)

Deleting a large file just before a timed copy made the next copy slow or
bimodal for every tool (see bench/RESULTS.md, "Why 1 GiB timings are noisy here"). Here every run gets a new
loop filesystem: make it (without discard) on the same preallocated image,
mount it, write the source, sync, read the source into the page cache, touch
and free memory (see `touch_memory`), then time one command, then unmount.
Commands are interleaved, forward in odd rounds and backward in even ones:
a copy timed right after runs that wrote little (clones) was often 2-10x
slower, whichever tool it was. Prints a Markdown table of medians and
minimums, the ratios of the medians to `cp` with the same reflink setting
and to `std::fs::copy`, and every run on stderr. Needs
`cargo build --release --workspace --bins --examples`.
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
# No discard: a discard punches holes in the image, and the host filesystem
# then allocates those blocks again while a copy is timed.
ONE_METHOD = os.path.join(ROOT, "target/release/examples/one_method")
# `--methods`: the library's kernel-side copy without cloning against its
# read/write loop and cp (one method each, no fallback).
METHODS = [
    ("splice", lambda s, d: [ONE_METHOD, "splice", s, d]),
    ("read_write", lambda s, d: [ONE_METHOD, "read_write", s, d]),
    ("cp --reflink=never", lambda s, d: ["cp", "--reflink=never", s, d]),
]
# `--preallocate`: the default path with and without fallocate before the
# data, against std::fs::copy and cp.
PREALLOCATE = [
    ("fastcopy", lambda s, d: [FASTCOPY, s, d]),
    ("fastcopy --preallocate", lambda s, d: [FASTCOPY, "--preallocate", s, d]),
    ("std::fs::copy", lambda s, d: [STD_COPY, s, d]),
    ("cp --reflink=never", lambda s, d: ["cp", "--reflink=never", s, d]),
]
# `--floor`: copies without cloning against the floor of any buffered copy:
# writing the same number of bytes from memory, reading nothing
# (bench/floor/write_floor.c).
FLOOR = [
    ("fastcopy --reflink=never", lambda s, d: [FASTCOPY, "--reflink=never", s, d]),
    ("cp --reflink=never", lambda s, d: ["cp", "--reflink=never", s, d]),
    ("write floor", lambda s, d: [floor_tool("write_floor"), s, d]),
]
MKFS = {
    "ext4": ["mkfs.ext4", "-q", "-F", "-E", "nodiscard"],
    "btrfs": ["mkfs.btrfs", "-q", "-f", "-K"],
    "xfs": ["mkfs.xfs", "-q", "-f", "-K", "-m", "reflink=1"],
}


def floor_tool(name):
    """bench/floor/NAME.c built (with gcc) into target/bench/NAME: its path."""
    out = os.path.join(ROOT, "target", "bench", name)
    src = os.path.join(ROOT, "bench", "floor", name + ".c")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        sh("gcc", "-O2", "-pthread", "-o", out, src)
    return out


def sh(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def fresh(fs, size_mib, cold=False):
    subprocess.run(["umount", MNT], stderr=subprocess.DEVNULL)
    size = (3 * size_mib + 1024) << 20
    if not os.path.exists(IMG) or os.path.getsize(IMG) != size:
        # One image, allocated once and reused (no host allocation, no
        # deletion of a large file between runs).
        with open(IMG, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, size)
    sh(*MKFS[fs], IMG)
    sh("mount", "-o", "loop", IMG, MNT)
    src = os.path.join(MNT, "src")
    sh("cp", MASTER, src)
    sh("sync")
    if cold:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    else:
        sh("cat", src)  # into the page cache (output discarded)
    touch_memory(size_mib)
    return src


def touch_memory(size_mib):
    """Writes and frees 1.5x the copy's size in tmpfs just before the timed run.

    This machine is a VM whose free memory is handed back to the host after
    a few seconds; the first touch of such a page is slow. A copy timed
    after runs that wrote little (clones) got those pages and took 2-2.6 s
    instead of 0.25 s for 1 GiB on XFS, whichever tool it was; pages freed
    here a moment before the run are reused instead.
    """
    path = "/dev/shm/fastcopy-fresh-touch"
    zeros = bytes(1 << 20)
    with open(path, "wb") as f:
        for _ in range(size_mib * 3 // 2):
            f.write(zeros)
    os.unlink(path)


def vs_std(med, label):
    std = med.get("std::fs::copy")
    return f"{med[label] / std:.2f}x" if std else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--methods", action="store_true", help="splice and read/write against cp")
    ap.add_argument("--preallocate", action="store_true",
                    help="the default path with and without fallocate, std::fs::copy, cp")
    ap.add_argument("--floor", action="store_true",
                    help="--reflink=never copies against writing the bytes from memory")
    ap.add_argument("--cold", action="store_true", help="source not in the page cache")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=PATH",
                    help="another fastcopy build timed beside the tools, default path and "
                         "--reflink=never (A/B against main before a change)")
    ap.add_argument("fs", nargs="+", choices=sorted(MKFS))
    args = ap.parse_args()
    commands = (
        METHODS if args.methods
        else PREALLOCATE if args.preallocate
        else FLOOR if args.floor
        else COMMANDS
    )
    for spec in args.also:
        label, path = spec.split("=", 1)
        commands = commands + [
            (label, lambda s, d, p=path: [p, s, d]),
            (f"{label} --reflink=never", lambda s, d, p=path: [p, "--reflink=never", s, d]),
        ]
    for tool in (FASTCOPY, STD_COPY, ONE_METHOD):
        if not os.path.exists(tool):
            sys.exit(f"missing {tool}: run `cargo build --release --workspace --bins --examples`")
    os.makedirs(MNT, exist_ok=True)
    if not os.path.exists(MASTER) or os.path.getsize(MASTER) != args.size_mib << 20:
        with open(MASTER, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
    print(
        "| filesystem | command | median | min | max | median vs cp (same reflink) "
        "| min vs cp | median vs std::fs::copy |"
    )
    print("|---|---|---|---|---|---|---|---|")
    try:
        for fs in args.fs:
            times = {label: [] for label, _ in commands}
            for run in range(args.runs):
                # Forward, then backward: no command always follows the same one.
                order = commands if run % 2 == 0 else commands[::-1]
                for label, argv in order:
                    src = fresh(fs, args.size_mib, args.cold)
                    dst = os.path.join(MNT, "dst")
                    t0 = time.perf_counter()
                    subprocess.run(argv(src, dst), check=True, stdout=subprocess.DEVNULL)
                    times[label].append(time.perf_counter() - t0)
            med = {k: statistics.median(v) for k, v in times.items()}
            low = {k: min(v) for k, v in times.items()}
            for label, _ in commands:
                v = times[label]
                base = (
                    "cp --reflink=never"
                    if args.methods or args.preallocate or args.floor or "never" in label
                    else "cp"
                )
                print(
                    f"| {fs} | `{label}` | {med[label] * 1000:.1f} ms "
                    f"| {low[label] * 1000:.1f} ms | {max(v) * 1000:.1f} ms "
                    f"| {med[label] / med[base]:.2f}x | {low[label] / low[base]:.2f}x "
                    f"| {vs_std(med, label)} |",
                    flush=True,
                )
            for label, _ in commands:
                runs = " ".join(f"{t * 1000:.0f}" for t in times[label])
                print(f"{fs} `{label}` runs (ms, in order): {runs}", file=sys.stderr, flush=True)
    finally:
        subprocess.run(["umount", MNT], stderr=subprocess.DEVNULL)
        if os.path.exists(IMG):
            os.unlink(IMG)


if __name__ == "__main__":
    main()
