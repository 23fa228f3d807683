#!/usr/bin/env bash
# Measures `twinline live` on a live MQTT stream over loopback: a Mosquitto broker of its
# own, the twin subscribed, and a publisher sending N events (default 200,000) at QoS 1 as
# fast as the broker takes them. Prints what the twin received and at what rate, and
# whether every event was applied exactly once.
#   scripts/bench-live.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || {
  echo "bench-live: needs mosquitto (scripts/test.sh installs it)" >&2; exit 1; }
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
cargo build --release -q -p twinline --bin twinline --example feed_publisher
work=$(mktemp -d)
chmod 777 "$work"
port=$(( 20000 + RANDOM % 20000 ))
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n' "$port" > "$work/m.conf"
"$mosquitto_bin" -c "$work/m.conf" >"$work/broker.log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
sleep 0.5
# Two simulated hours at 600x: twelve wall seconds of listening; the events, dated from
# 06:30, arrive before the twin reaches them.
target/release/twinline live scenarios/plant-agv.toml --mqtt "mqtt://127.0.0.1:$port" \
  --client-id "bench-$$" --start 2026-11-23T06:00:00Z --speed 600 --horizon 2h \
  --out "$work/out" >"$work/twin.log" 2>&1 &
twin=$!
for _ in $(seq 100); do grep -q subscribed "$work/twin.log" && break; sleep 0.1; done
target/release/examples/feed_publisher "synthetic:$n" --port "$port"
wait $twin
python3 - "$work/out/kpis.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))
live, ing = k["live"], k["ingestion"]
pos = [p for p in k["runs"][0]["kpis"]["feed"]["positions"] if p["material"] == "bench-caps"]
print(f"twin received {live['received']} events at {live['events_per_s']:.0f} events/s "
      f"(first to last arrival); applied {ing['applied']}, duplicates {ing['duplicates']}, "
      f"late corrections {ing['late_corrections']}; bench-caps on hand {pos[0]['on_hand']:.0f}")
PY
rm -rf "$work"
