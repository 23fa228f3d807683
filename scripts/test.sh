#!/usr/bin/env bash
# The project's test command: installs what the tests need on a fresh machine, then runs
# every test of the workspace (unit, integration, CLI, doc tests).
# Today the tests need only the Rust toolchain; system parts (a broker, Xvfb) join here.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "scripts/test.sh: cargo is missing; install Rust 1.95 (rustup) first" >&2
  exit 1
fi

cargo test --workspace --lib --bins --tests
cargo test --workspace --doc
