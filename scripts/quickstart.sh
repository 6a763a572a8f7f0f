#!/usr/bin/env bash
# Quick start: set up, install cargo-winpkg (cargo install --path .), package the example
# Windows service (examples/hello-service) with `cargo winpkg --release`, then install
# and run that zip on Wine's service control manager with `cargo winpkg verify --wine`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo install --path . --locked --quiet --target-dir target
echo "== cargo winpkg --release   (in examples/hello-service)"
(cd examples/hello-service && cargo winpkg --release --locked)
zip=examples/hello-service/target/winpkg/hello-service-0.1.0-x86_64-pc-windows-gnu.zip
echo "== cargo winpkg verify --wine $zip"
cargo winpkg verify --wine "$zip"
