#!/usr/bin/env python3
"""Markdown tables from `fastcopy --bench --json` files: per filesystem, size
and cache, each method's median wall time and CPU time, as ratios to the
32 KiB read/write loop and to the plain method without fallocate."""
import json
import sys


def fmt(ns):
    if ns is None:
        return "-"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return f"{ns / div:.1f} {unit}"
    return f"{ns} ns"


def size(n):
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return f"{n // div} {unit}"
    return f"{n} B"


for path in sys.argv[1:]:
    doc = json.load(open(path))
    print(f"\n### {doc['filesystem']} ({doc['runs']} runs, medians)\n")
    print("| size | cache | method | wall | CPU | wall vs 32K loop | CPU vs 32K loop | CPU vs without fallocate |")
    print("|---|---|---|---|---|---|---|---|")
    rows = doc["results"]
    by_key = {(r["size"], r["cache"], r["method"]): r for r in rows}
    for r in rows:
        plain = r["method"].removeprefix("fallocate + ")
        base = by_key.get((r["size"], r["cache"], plain))
        vs_plain = "-"
        if plain != r["method"] and base and base["cpu_median_ns"] and r["cpu_median_ns"]:
            vs_plain = f"{r['cpu_median_ns'] / base['cpu_median_ns']:.2f}x"
        ratio = r["ratio_to_read_write_32k"]
        cpu_ratio = r.get("cpu_ratio_to_read_write_32k")
        print(
            f"| {size(r['size'])} | {r['cache']} | {r['method']} | {fmt(r['median_ns'])} "
            f"| {fmt(r.get('cpu_median_ns'))} | {ratio:.2f}x | "
            f"{'-' if cpu_ratio is None else f'{cpu_ratio:.2f}x'} | {vs_plain} |"
        )
    for u in doc.get("unavailable", []):
        print(f"\nnot available on {doc['filesystem']}: {u['method']}: {u['error']}")
