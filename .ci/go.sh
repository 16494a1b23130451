#!/usr/bin/env bash
# The C ABI and the Go package: build the static library, compile and run
# the C smoke test with gcc, then `go vet` and `go test -v` of
# bindings/go/fastcopy against the real library, and the Go demo copying a
# file with a clone on the Btrfs loop mount.
#
#   bash .ci/go.sh
#
# Idempotent, needs no stdin; CI runs it as root with CI=true after
# `scripts/testfs.sh up` (the Btrfs/ext4 tests need the loop mounts; with
# FASTCOPY_REQUIRE_TESTFS=1 they fail instead of skipping). Go comes from
# Debian's packages (golang-go, Go 1.19 on Debian 12); no Go module is
# fetched from anywhere (the package has no dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

step "Go toolchain (Debian's golang-go), gcc"
missing=()
command -v go >/dev/null || missing+=(golang-go)
command -v gcc >/dev/null || missing+=(gcc)
command -v filefrag >/dev/null || missing+=(e2fsprogs)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
go version
# go.mod says `go 1.19`: anything older cannot build the package.
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "${go_minor:-0}" -lt 19 ]; then
  echo "go.sh: Go 1.19 or newer needed, found $(go env GOVERSION)" >&2
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
# The header also compiles as C++.
if command -v g++ >/dev/null; then
  echo '#include "fastcopy.h"' | g++ -fsyntax-only -Wall -Werror -x c++ -Icrates/fastcopy-ffi/include -
  echo "fastcopy.h compiles as C++"
else
  echo "(g++ not installed: C++ check of the header skipped)"
fi

# Nothing is downloaded: no module proxy, no toolchain switch, no sum DB.
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GONOSUMDB='*' GOSUMDB=off
export CGO_ENABLED=1
# Where the static library is (searched before the package's default
# ${SRCDIR}/../../../target/release).
export CGO_LDFLAGS="-L$lib_dir"
export GOCACHE=${GOCACHE:-$target_dir/go-cache}
export GOPATH=${GOPATH:-$target_dir/go-path}

step "go vet"
(cd bindings/go/fastcopy && go vet ./...)

step "go test -v (real files; Btrfs clone on the loop mount)"
(cd bindings/go/fastcopy && go test -count=1 -v ./...)

step "Go demo: a clone on Btrfs"
btrfs=/var/tmp/fastcopy-testfs/mnt/btrfs
(cd bindings/go/fastcopy && go build -o "$scratch/fastcopy-go-demo" ./cmd/fastcopy-go-demo)
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
