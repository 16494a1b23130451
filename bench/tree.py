#!/usr/bin/env python3
"""Tree-copy benchmark: fastcopy -r against cp -a, rsync -a, xcp -r and fcp.

Runs every tool on the same source tree, interleaved (A B C ..., B C ... A,
...: each round starts with the next tool, after an untimed warm-up copy), RUNS times, each into a fresh destination next to the source (same
filesystem), and prints the median wall time per tool and its ratio to
`cp -a`. The destinations are deleted only after the whole batch, and the
script then syncs and waits 65 s: on a journal-less ext4 the files created
right after a mass deletion cost ~15x more (see bench/RESULTS.md, "Benchmark
of 2026-12-03", the last paragraph): the inode allocator passes over recently deleted inodes, for longer
while their inode-table blocks are not yet written back.

    bench/tree.py SRC_TREE [--runs 3] [--tools fastcopy,cp,rsync,xcp,fcp]
                  [--fastcopy PATH] [--peers DIR] [--strace] [--no-wait] [--keep]
                  [--fresh ext4|btrfs|xfs] [--floor]

With --fresh FS, every timed run gets a new loop filesystem instead (one
preallocated image, made again without discard; ext4 without a journal,
like this machine's root): SRC_TREE is copied onto it with cp -a (so it is
in the page cache), synced, memory is written and freed in /dev/shm (see
fresh_fs.touch_memory), and the tool copies it within that filesystem. No
run then follows a deletion, and no wait is needed.

With --floor, two more rows: bench/floor/tree_floor.c (built with gcc)
making only the kernel calls a copy cannot avoid, from lists of the tree
made before the clock starts (no walk): "floor create" makes the
directories and empty files; "floor calls" makes the directories and, per
file, the calls fastcopy -r makes (open, fstat, create with the mode,
FICLONE or copy_file_range, futimens, two closes), two threads.

Make the inputs with bench/tree-setup.sh. Peers come from
`cargo install xcp fcp` (looked up in --peers, then PATH); a missing one is
reported and left out.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fresh_fs  # noqa: E402

FRESH_MKFS = dict(fresh_fs.MKFS, ext4=fresh_fs.MKFS["ext4"] + ["-O", "^has_journal"])
FRESH_WORK = "/var/tmp/fastcopy-tree-fresh"


def which(name, peers):
    p = os.path.join(peers, name)
    if os.access(p, os.X_OK):
        return p
    return shutil.which(name)


def commands(args):
    peers = args.peers
    tools = {
        "fastcopy": [args.fastcopy, "-r"],
        "cp": ["cp", "-a"],
        "rsync": ["rsync", "-a"],
        "xcp": [which("xcp", peers), "-r"],
        "fcp": [which("fcp", peers)],
    }
    if args.floor:
        tool = fresh_fs.floor_tool("tree_floor")
        tools["floor create"] = [tool, "create"]
        tools["floor calls"] = [tool, "calls"]
    for also in args.also:
        label, _, path = also.partition("=")
        tools[label] = [path, "-r"]
    out = {}
    floor = ["floor create", "floor calls"] if args.floor else []
    for name in args.tools.split(",") + floor + [a.partition("=")[0] for a in args.also]:
        cmd = tools[name]
        if cmd[0] is None or shutil.which(cmd[0]) is None and not os.access(cmd[0], os.X_OK):
            print(f"# {name}: not installed, left out", file=sys.stderr)
            continue
        out[name] = cmd
    return out


def argv(name, cmd, src, dst):
    if name == "rsync":
        # rsync copies the contents of SRC/ into DST/.
        return cmd + [src + "/", dst + "/"]
    return cmd + [src, dst]


def floor_lists(src):
    """The lists tree_floor reads (directories, then regular files, parents
    first, relative to SRC), written next to SRC before the clock starts."""
    dirs, files = [], []
    for root, ds, fs in os.walk(src):
        rel = os.path.relpath(root, src)
        for d in ds:
            if not os.path.islink(os.path.join(root, d)):
                dirs.append(os.path.normpath(os.path.join(rel, d)))
        for f in fs:
            if os.path.isfile(os.path.join(root, f)) and not os.path.islink(os.path.join(root, f)):
                files.append(os.path.normpath(os.path.join(rel, f)))
    paths = []
    for kind, names in (("dirs", dirs), ("files", files)):
        path = f"{src}.floor-{kind}"
        with open(path, "w") as out:
            out.writelines(n + "\n" for n in names)
        paths.append(path)
    return paths


def run_once(name, cmd, src, dst):
    args = argv(name, cmd, src, dst)
    lists = []
    if name.startswith("floor"):
        lists = floor_lists(src)
        args = cmd + lists + [src, dst]
    t0 = time.perf_counter()
    p = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t = time.perf_counter() - t0
    for path in lists:
        os.remove(path)
    if p.returncode != 0:
        print(f"# {name} failed ({p.returncode}): {p.stderr[:300]!r}", file=sys.stderr)
    return t


def strace_counts(name, cmd, src, dst):
    """System calls of one run: {syscall: calls}, from strace -f -c."""
    out = dst + ".strace"
    subprocess.run(["strace", "-f", "-c", "-o", out] + argv(name, cmd, src, dst),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts = {}
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
            if m and m.group(2) != "total":
                counts[m.group(2)] = int(m.group(1))
    os.remove(out)
    return counts


def tree_mib(src):
    total = 0
    for root, _, files in os.walk(src):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total >> 20


def fresh_source(fs, src, mib):
    """A new filesystem holding a copy of SRC, cached and synced: its path."""
    img = os.path.join(FRESH_WORK, "fs.img")
    mnt = os.path.join(FRESH_WORK, "mnt")
    os.makedirs(mnt, exist_ok=True)
    subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL)
    size = (3 * mib + 2048) << 20
    if not os.path.exists(img) or os.path.getsize(img) != size:
        with open(img, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, size)
    fresh_fs.sh(*FRESH_MKFS[fs], img)
    fresh_fs.sh("mount", "-o", "loop", img, mnt)
    copy = os.path.join(mnt, "src")
    fresh_fs.sh("cp", "-a", src, copy)
    fresh_fs.sh("sync")
    fresh_fs.touch_memory(mib)
    return copy


def count_files(src):
    n = 0
    for _, _, files in os.walk(src):
        n += len(files)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", default="fastcopy,cp,rsync,xcp,fcp")
    ap.add_argument("--fastcopy", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "fastcopy"))
    ap.add_argument("--peers", default=os.path.expanduser("~/.cargo/bin"))
    ap.add_argument("--strace", action="store_true",
                    help="also count system calls per regular file (one extra run each)")
    ap.add_argument("--no-wait", action="store_true", help="skip the 65 s pause at the end")
    ap.add_argument("--warmup", type=int, default=1, help="untimed cp -a runs first")
    ap.add_argument("--keep", action="store_true",
                    help="leave the destinations (delete them yourself after all batches: "
                         "deleting is what makes the next files slow)")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=PATH",
                    help="another fastcopy build (or wrapper) to time beside the tools (A/B)")
    ap.add_argument("--floor", action="store_true",
                    help="also time bench/floor/tree_floor.c: only the kernel calls, no walk")
    ap.add_argument("--fresh", choices=sorted(FRESH_MKFS),
                    help="a new loop filesystem of this type for every timed run")
    args = ap.parse_args()

    src = os.path.abspath(args.src.rstrip("/"))
    base = os.path.dirname(src)
    tools = commands(args)
    tag = f"{os.getpid()}"
    times = {name: [] for name in tools}
    made = []
    print(f"# {src}: {count_files(src)} files; uptime:{os.popen('uptime').read().strip()}")
    # The first copy after a pause pays for what others left behind (ext4's
    # allocator passing over recently deleted inodes, writeback): an untimed
    # cp -a takes that, and each round starts with the next tool.
    for w in range(0 if args.fresh else args.warmup):
        dst = os.path.join(base, f".bench-{tag}-warmup-{w}")
        made.append(dst)
        run_once("cp", ["cp", "-a"], src, dst)
    names = list(tools)
    mib = tree_mib(src) if args.fresh else 0
    for run in range(args.runs):
        for name in names[run % len(names):] + names[:run % len(names)]:
            cmd = tools[name]
            if args.fresh:
                copy = fresh_source(args.fresh, src, mib)
                times[name].append(run_once(name, cmd, copy, copy + "-dst"))
            else:
                dst = os.path.join(base, f".bench-{tag}-{name}-{run}")
                made.append(dst)
                times[name].append(run_once(name, cmd, src, dst))
            print(f"#   run {run + 1} {name:9} {times[name][-1]:.3f} s", file=sys.stderr)
    files = count_files(src)
    calls = {}
    if args.strace:
        for name, cmd in tools.items():
            if name.startswith("floor"):
                continue
            dst = os.path.join(base, f".bench-{tag}-{name}-strace")
            made.append(dst)
            c = strace_counts(name, cmd, src, dst)
            calls[name] = sum(c.values()) / max(files, 1)
    print(f"# uptime after:{os.popen('uptime').read().strip()}")
    base_t = statistics.median(times["cp"]) if "cp" in times else None
    print("| tool | median (s) | runs (s) | vs cp -a |" + (" syscalls/file |" if calls else ""))
    print("|---|---|---|---|" + ("---|" if calls else ""))
    for name in tools:
        med = statistics.median(times[name])
        ratio = f"{med / base_t:.2f}x" if base_t else "-"
        runs = " ".join(f"{t:.2f}" for t in times[name])
        row = f"| {' '.join(argv(name, [os.path.basename(tools[name][0])] + tools[name][1:], 'SRC', 'DST'))} | {med:.3f} | {runs} | {ratio} |"
        if calls:
            row += f" {calls[name]:.1f} |" if name in calls else " - |"
        print(row)
    if args.keep:
        print(f"# kept: {base}/.bench-{tag}-*")
        return
    # Delete after the batch, then let the filesystem settle: ext4 passes
    # over recently deleted inodes, for longer while their inode-table
    # blocks are dirty, so write everything back first.
    for d in made:
        shutil.rmtree(d, ignore_errors=True)
    subprocess.run(["sync"])
    if args.fresh:
        subprocess.run(["umount", os.path.join(FRESH_WORK, "mnt")], stderr=subprocess.DEVNULL)
    if not args.no_wait and made:
        time.sleep(65)


if __name__ == "__main__":
    main()
