#!/usr/bin/env bash
# The Go benchmark of issue 16: CopyFile against a baseline doing what
# RCC's pathlib.CopyFile does (bench_linux_test.go), A and B interleaved
# (one process per round and side), medians and ratios by benchstat.
#
#   bash bindings/go/bench.sh            # 10 rounds
#   ROUNDS=20 bash bindings/go/bench.sh
#
# Needs the loop mounts of scripts/testfs.sh (ext4, Btrfs, XFS) and Go 1.22+;
# benchstat comes from the Go module proxy (golang.org/x/perf/cmd/benchstat).
set -euo pipefail
cd "$(dirname "$0")/fastcopy"
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
rounds=${ROUNDS:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go test -c -o "$out/fastcopy.test" .
benchstat=$(go env GOPATH)/bin/benchstat
[ -x "$benchstat" ] || GOFLAGS=-mod=mod go install golang.org/x/perf/cmd/benchstat@latest
run() { "$out/fastcopy.test" -test.run '^$' -test.bench "$1" -test.benchtime "$2" | grep '^Benchmark' >>"$out/$3"; }
for i in $(seq "$rounds"); do
  for impl in rcc fastcopy; do
    run "^BenchmarkSmallFiles/impl=$impl\$" 3x small.txt
    run "^BenchmarkLargeFile/impl=$impl\$" 3x large.txt
  done
  run '^BenchmarkClone$' 20x clone.txt
  run '^BenchmarkCreateFloor$' 3x floor.txt
done
echo "== 2,000 x 4 KiB files, ext4 (ns/op is per 2,000 files) =="
"$benchstat" -col /impl "$out/small.txt"
echo "== 256 MiB, ext4 =="
"$benchstat" -col /impl "$out/large.txt"
echo "== the floor: 2,000 new 4 KiB files, O_EXCL create vs O_TMPFILE + linkat, ext4 =="
"$benchstat" -col /how "$out/floor.txt"
echo "== 256 MiB clone, Btrfs and XFS (fastcopy only) =="
"$benchstat" "$out/clone.txt"
