#!/usr/bin/env bash
# The C ABI and the Go package.
#
#   bash .ci/go.sh
#
# 1. C ABI: build the static library (cargo), compile and run the C smoke
#    test with gcc; the header also compiles as C++.
# 2. Go package bindings/go/fastcopy (pure Go, no cgo; go.mod says go 1.22;
#    its one dependency, golang.org/x/sys, comes through the Go module
#    proxy and is checked against go.sum, GOFLAGS=-mod=readonly):
#    gofmt; go vet and CGO_ENABLED=0 go build for linux/amd64,
#    linux/arm64, darwin/amd64, darwin/arm64 and windows/amd64 (as RCC
#    builds); go test -race (the race detector needs cgo for the test
#    binary only) and CGO_ENABLED=0 go test, both with the shared
#    conformance cases (conformance/cases.json) on loop-mounted ext4,
#    Btrfs, XFS and tmpfs; the Go demo cloning on Btrfs; the Windows tests
#    under wine.
#
# Idempotent, needs no stdin; CI runs it as root with CI=true after
# `scripts/testfs.sh up` (with FASTCOPY_REQUIRE_TESTFS=1 a missing
# filesystem fails a test instead of skipping it).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

step "Go toolchain (Go 1.22 or newer), gcc"
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
if ! command -v go >/dev/null; then
  echo "go.sh: Go 1.22 or newer needed (not on PATH, not in /usr/local/go/bin)" >&2
  exit 1
fi
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v filefrag >/dev/null || missing+=(e2fsprogs)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
go version
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "${go_minor:-0}" -lt 22 ]; then
  echo "go.sh: Go 1.22 or newer needed, found $(go env GOVERSION)" >&2
  exit 1
fi

step "static library (cargo build --release -p fastcopy-ffi)"
cargo build --release --locked -p fastcopy-ffi
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
lib_dir=$target_dir/release
test -f "$lib_dir/libfastcopy_ffi.a"
ls -l "$lib_dir/libfastcopy_ffi.a"

step "C smoke test (gcc, static link)"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
gcc -std=c11 -Wall -Wextra -Werror -Icrates/fastcopy-ffi/include \
  crates/fastcopy-ffi/tests/c/smoke.c "$lib_dir/libfastcopy_ffi.a" \
  -lgcc_s -lutil -lrt -lpthread -lm -ldl -o "$scratch/smoke"
mkdir "$scratch/c"
"$scratch/smoke" "$scratch/c"
if command -v g++ >/dev/null; then
  echo '#include "fastcopy.h"' | g++ -fsyntax-only -Wall -Werror -x c++ -Icrates/fastcopy-ffi/include -
  echo "fastcopy.h compiles as C++"
else
  echo "(g++ not installed: C++ check of the header skipped)"
fi

# The module proxy is allowed (default GOPROXY); go.mod and go.sum must
# already say everything (-mod=readonly); no toolchain switch.
export GOFLAGS=-mod=readonly GOTOOLCHAIN=local
export GOCACHE=${GOCACHE:-$target_dir/go-cache}
export GOPATH=${GOPATH:-$target_dir/go-path}
pkg=bindings/go/fastcopy

step "gofmt"
unformatted=$(gofmt -l bindings/go)
if [ -n "$unformatted" ]; then
  echo "go.sh: not gofmt-clean: $unformatted" >&2
  exit 1
fi
echo "gofmt: clean"

step "go vet and CGO_ENABLED=0 go build (linux, darwin, windows)"
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64; do
  (cd "$pkg" && CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go vet ./... &&
    CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build ./...)
  echo "$target: vet and build ok (CGO_ENABLED=0)"
done
# The package links no C: a static binary.
(cd "$pkg" && CGO_ENABLED=0 go build -o "$scratch/fastcopy-go-demo" ./cmd/fastcopy-go-demo)
file "$scratch/fastcopy-go-demo" 2>/dev/null | grep -q 'statically linked' &&
  echo "fastcopy-go-demo: statically linked" || true

run_go_tests() { # label, then env assignments for go test
  local label=$1 log=$scratch/go-test-$1.log
  shift
  set +e
  (cd "$pkg" && env "$@" go test -count=1 -v ./... >"$log" 2>&1)
  local status=$?
  set -e
  grep -E '^(--- FAIL|FAIL|panic:)|SKIPPED' "$log" | head -50 || true
  for fs in ext4 btrfs xfs tmpfs; do
    printf '%s: conformance on %s: %s passed, %s skipped\n' "$label" "$fs" \
      "$(grep -cE -- "--- PASS: TestConformance/$fs/" "$log")" \
      "$(grep -cE -- "--- SKIP: TestConformance/$fs/" "$log")"
  done
  grep -E '^(ok|FAIL|\?)\s' "$log"
  return $status
}

step "go test -race (Btrfs/XFS/ext4/tmpfs loop mounts, conformance cases)"
run_go_tests race CGO_ENABLED=1 GOFLAGS="$GOFLAGS -race"

step "CGO_ENABLED=0 go test (the package as RCC builds it)"
run_go_tests nocgo CGO_ENABLED=0

step "Go demo: a clone on Btrfs"
btrfs=/var/tmp/fastcopy-testfs/mnt/btrfs
if [ "$(stat -f -c %T "$btrfs" 2>/dev/null)" = btrfs ]; then
  demo=$(mktemp -d "$btrfs/go-demo-XXXXXX")
  head -c 8388608 /dev/urandom >"$demo/source.bin"
  "$scratch/fastcopy-go-demo" -reflink always "$demo/source.bin" "$demo/copy/target.bin"
  frag=$(filefrag -v "$demo/copy/target.bin")
  printf '%s\n' "$frag" | sed -n '1,6p'
  case $frag in
    *shared*) echo "filefrag: the copy's extents are shared with the source" ;;
    *) echo "go.sh: the Go demo's copy shares no extents" >&2; exit 1 ;;
  esac
  cmp "$demo/source.bin" "$demo/copy/target.bin"
  rm -rf "$demo"
elif [ "${FASTCOPY_REQUIRE_TESTFS:-}" = 1 ]; then
  echo "go.sh: $btrfs is not a Btrfs mount (run scripts/testfs.sh up)" >&2
  exit 1
else
  echo "SKIPPED: $btrfs is not a Btrfs mount"
fi

step "Go tests for Windows under wine"
export WINEDEBUG=-all
missing=()
command -v wine >/dev/null || missing+=(wine wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Go's runtime for Windows imports ProcessPrng from bcryptprimitives.dll
# (Windows 10+), which wine 8 lacks: the same stand-in as
# .ci/windows-macos.sh, built with mingw into the same prefix.
export WINEPREFIX="${FASTCOPY_WINEPREFIX:-$target_dir/wine-prefix}"
. .ci/wine-prefix.sh "$target_dir/wine-stub-go"
(cd "$pkg" && CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go test -c -o "$scratch/fastcopy.test.exe" .)
set +e
(cd "$scratch" && wine ./fastcopy.test.exe -test.count=1 -test.v >"$scratch/wine.log" 2>&1)
status=$?
set -e
wineserver --kill >/dev/null 2>&1 || true
grep -E '^(--- |ok|PASS|FAIL)' "$scratch/wine.log" | tail -40
test "$status" -eq 0
echo "Windows tests under wine: passed"
