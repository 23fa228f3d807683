#!/usr/bin/env bash
# The project's test command: installs what the tests need on a fresh machine, then runs
# every test of the workspace (unit, integration, CLI, doc tests).
# System parts, installed here when missing: the MQTT tests start their own Mosquitto
# broker (Debian package `mosquitto`, with a TLS certificate made by `openssl`); the report tests screenshot the HTML report in
# headless Chromium (Debian package `chromium`); the viewer tests render a frame of
# `twinline view` in a virtual X server with Mesa's software Vulkan (Debian packages
# `xvfb`, `xauth`, `mesa-vulkan-drivers`, `libvulkan1` and the X11 client libraries).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "scripts/test.sh: cargo is missing; install Rust 1.95 (rustup) first" >&2
  exit 1
fi

missing=()
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  missing+=(mosquitto)
fi
if ! command -v openssl >/dev/null 2>&1; then
  # The MQTT TLS test makes its own certificate authority.
  missing+=(openssl)
fi
if ! command -v chromium >/dev/null 2>&1; then
  # The report tests look at the HTML report in a real headless browser.
  missing+=(chromium fonts-dejavu-core)
fi
if ! command -v xvfb-run >/dev/null 2>&1; then
  missing+=(xvfb xauth)
fi
# The viewer loads Vulkan and X11 at run time (nothing to link against at build time).
for pkg in mesa-vulkan-drivers libvulkan1 libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "scripts/test.sh: installing ${missing[*]} (the tests start their own broker and browser)"
  if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo test --workspace --lib --bins --tests
cargo test --workspace --doc
