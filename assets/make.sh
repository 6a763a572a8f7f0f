#!/usr/bin/env bash
# Rebuild the Windows helpers from their C sources: the ones `cargo winpkg verify --wine`
# puts into its throwaway Wine prefix, and the PATH helper that command-line tools' packages
# ship. Needs mingw-w64 (scripts/setup.sh installs it). Reproducible: the same compiler
# gives the same bytes (tests/package.rs rebuilds the PATH helper and compares).
# `./make.sh DIR` writes them into DIR instead.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-.}
x86_64-w64-mingw32-gcc -O2 -s -shared -Wl,--no-insert-timestamp \
    -o "$out/bcryptprimitives-standin.dll" processprng-standin.c -lbcrypt
x86_64-w64-mingw32-gcc -O2 -s -municode -Wl,--no-insert-timestamp \
    -o "$out/winpkg-svcstate.exe" svcstate.c -ladvapi32
i686-w64-mingw32-gcc -O2 -s -Wl,--no-insert-timestamp \
    -o "$out/winpkg-probe32.exe" probe32.c
# The PATH helper: no C runtime (kernel32, advapi32, user32 only), with version info.
path_flags=(-O2 -s -municode -nostdlib -ffreestanding -fno-tree-loop-distribute-patterns
    -fno-stack-protector -Wall -Wextra -Werror -Wl,--no-insert-timestamp -Wl,--subsystem,console)
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT
for arch in x86_64:x64:entry i686:x86:_entry; do
    IFS=: read -r cpu name entry <<<"$arch"
    "$cpu-w64-mingw32-windres" -O coff -o "$res/$cpu.res" pathedit.rc
    "$cpu-w64-mingw32-gcc" "${path_flags[@]}" -Wl,-e,"$entry" -o "$out/winpkg-path-$name.exe" \
        pathedit.c "$res/$cpu.res" -lkernel32 -ladvapi32 -luser32
done
echo "assets rebuilt in $out"
