#!/usr/bin/env python3
"""The library's layering, checked (issue 15): `sys/` is the only OS
boundary and dependencies point one way, core -> sys.

- Outside `sys/`, no `cfg` on an operating system or family, except in
  lib.rs (public re-exports of platform items) and in test modules.
- Inside `sys/`, no `use` of the core's logic modules (copy, pipeline,
  policy, stale, probe, metrics, tree::sequential): sys may use the
  shared data types (error, options, report, ladder's Step, progress,
  fault, tree's option and report types) and the pipeline's interface
  (per_file). The Linux parallel tree walker gets the pipeline handed in
  as a `per_file::PerFile`; it never names it.

Prints each violation; exits 1 if there is any.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "crates/fastcopy/src"
LOGIC = ("copy", "pipeline", "policy", "stale", "probe", "metrics", "tree::sequential")
OS_CFG = re.compile(r"cfg(_attr)?\((.*\b(target_os|target_family|unix|windows)\b)")
bad = []
for path in sorted(SRC.rglob("*.rs")):
    rel = path.relative_to(SRC).as_posix()
    text = path.read_text()
    in_sys = rel.startswith("sys/")
    if rel.startswith("tests/") or rel.endswith("_tests.rs"):
        continue  # test code may look at the platform it runs on
    # So may test modules, at the end of a file.
    code = re.split(r"\n#\[cfg\(.*test.*\)\]\nmod ", text)[0]
    for n, line in enumerate(code.splitlines(), 1):
        if line.lstrip().startswith("//"):
            continue
        if not in_sys and rel != "lib.rs" and OS_CFG.search(line) and "test" not in line:
            bad.append(f"{rel}:{n}: platform cfg outside sys/: {line.strip()}")
        if in_sys:
            for m in re.finditer(r"crate::([a-z_:]+)", line):
                target = m.group(1)
                if any(target == l or target.startswith(l + "::") for l in LOGIC):
                    bad.append(f"{rel}:{n}: sys/ reaches back into crate::{target}")
for b in bad:
    print(b)
print(f"check-layers: {len(bad)} violation(s)")
sys.exit(1 if bad else 0)
