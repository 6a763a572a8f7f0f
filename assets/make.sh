#!/usr/bin/env bash
# Rebuild the Windows helpers that `cargo winpkg verify --wine` puts into its throwaway
# Wine prefix (never into a package). Needs mingw-w64 (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")"
x86_64-w64-mingw32-gcc -O2 -s -shared -Wl,--no-insert-timestamp \
    -o bcryptprimitives-standin.dll processprng-standin.c -lbcrypt
x86_64-w64-mingw32-gcc -O2 -s -municode -Wl,--no-insert-timestamp \
    -o winpkg-svcstate.exe svcstate.c -ladvapi32
i686-w64-mingw32-gcc -O2 -s -Wl,--no-insert-timestamp \
    -o winpkg-probe32.exe probe32.c
echo "assets rebuilt"
