#!/usr/bin/env bash
# The project's test command: installs what the tests need on a fresh machine, then runs
# every test of the workspace (unit, integration, CLI, doc tests).
# System parts: the MQTT tests start their own Mosquitto broker (Debian package
# `mosquitto`), installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "scripts/test.sh: cargo is missing; install Rust 1.95 (rustup) first" >&2
  exit 1
fi

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "scripts/test.sh: installing mosquitto (the MQTT tests start their own broker)"
  if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends mosquitto
fi

cargo test --workspace --lib --bins --tests
cargo test --workspace --doc
