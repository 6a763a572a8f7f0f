#!/usr/bin/env bash
# The whole test suite: set up the tools the tests use, then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --locked --all-targets "$@"
