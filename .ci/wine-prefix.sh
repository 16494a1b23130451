#!/usr/bin/env bash
# Sourced by .ci/windows-macos.sh and .ci/go.sh: a wine prefix that runs
# Windows test binaries built with Rust or Go. Both runtimes import
# ProcessPrng from bcryptprimitives.dll (Windows 10+), which wine 8 lacks: a
# stand-in (.ci/bcryptprimitives.c, over RtlGenRandom) is built with mingw
# and put into the prefix's system32.
#
#   WINEPREFIX=DIR . .ci/wine-prefix.sh STUB_BUILD_DIR
set -euo pipefail
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko install prompts
wine_stub_dir=$1
mkdir -p "$wine_stub_dir"
ci_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
x86_64-w64-mingw32-gcc -shared -O2 -o "$wine_stub_dir/bcryptprimitives.dll" \
  "$ci_dir/bcryptprimitives.c" "$ci_dir/bcryptprimitives.def" -ladvapi32
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$WINEPREFIX"
  wineboot --init </dev/null >/dev/null 2>&1
  wineserver --wait || true
fi
cp "$wine_stub_dir/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
