#!/usr/bin/env bash
# The other platforms' backends: lint the library for Windows and macOS, and
# run its own tests for Windows under wine. Idempotent; needs no stdin (CI
# runs it with CI=true, as root, from .ci/run).
#
#   bash .ci/windows-macos.sh
#
# macOS is compiled and linted only (no Mac here). Windows is linted and its
# library tests (`cargo test -p fastcopy --lib`) are executed under wine:
# the Windows backend's tests in crates/fastcopy/src/tests/windows.rs
# run there against wine's Win32 file API (no ReFS: block cloning declines).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

# -all also keeps Debian's wine wrapper from asking for wine32 (this is a
# 64-bit-only prefix).
export WINEDEBUG=-all

WIN=x86_64-pc-windows-gnu
MACS=(aarch64-apple-darwin x86_64-apple-darwin)
# Linted too (clippy needs no MSVC linker); tests run for the GNU target.
WIN_MSVC=x86_64-pc-windows-msvc

step "system packages (wine, mingw-w64)"
missing=()
command -v wine >/dev/null || missing+=(wine wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
wine --version
x86_64-w64-mingw32-gcc --version | head -1

step "rust targets"
rustup target add "$WIN" "$WIN_MSVC" "${MACS[@]}" 2>&1 | grep -v 'is up to date' || true
rustup component add clippy >/dev/null 2>&1 || true

for target in "$WIN" "$WIN_MSVC" "${MACS[@]}"; do
  step "cargo clippy ($target)"
  # testfs's loop mounts are Linux-only; its file helpers build everywhere.
  cargo clippy --workspace --all-targets --locked --target "$target" -- -D warnings
done

step "wine prefix"
# Rust's std for Windows imports ProcessPrng from bcryptprimitives.dll
# (Windows 10+); wine 8 has no such DLL. A two-line stand-in built with
# mingw fills the buffer with RtlGenRandom (advapi32's SystemFunction036).
# wine has no builtin bcryptprimitives, so the native one in system32 loads
# without a DLL override.
export WINEPREFIX="${FASTCOPY_WINEPREFIX:-$PWD/target/wine-prefix}"
. .ci/wine-prefix.sh target/wine-stub

step "tests for $WIN under wine"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
log=target/fastcopy-wine-test.log
set +e
cargo test -p fastcopy --lib --locked --target "$WIN" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
wineserver --kill >/dev/null 2>&1 || true
test "$status" -eq 0
echo
echo "=== Windows backend tests that ran under wine ==="
grep -E '^test (sys::(windows|block_clone_plan)|tests::windows)::.* \.\.\. ok$' "$log" | sort
