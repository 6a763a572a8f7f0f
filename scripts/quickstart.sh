#!/usr/bin/env bash
# Quick start: set up, build cargo-winpkg, cross-build the example Windows service
# (examples/hello-service) and check what it needs on a clean Windows.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --locked --quiet
example=examples/hello-service
cargo build --release --locked --quiet --manifest-path "$example/Cargo.toml" \
    --target x86_64-pc-windows-gnu
exe="$example/target/x86_64-pc-windows-gnu/release/hello-service.exe"
echo "== cargo winpkg check $exe"
./target/release/cargo-winpkg check "$exe"
