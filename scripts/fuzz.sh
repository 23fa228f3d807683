#!/usr/bin/env bash
# Fuzzes scenarios, NDJSON and CSV feeds and --set overrides for a bounded time (default
# 90 s in all) under a memory limit (4 GiB of address space), from a seed (default 1: the
# same inputs in the same order on every run, so CI does not turn red by chance; try
# other seeds by hand to search further).
# Findings are written to target/fuzz-findings; the exit status is 1 when there are any.
#   scripts/fuzz.sh [SECONDS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-90}"
seed="${2:-1}"
cargo build --release --no-default-features -q -p twinline-fuzz
bin="${CARGO_TARGET_DIR:-target}/release/twinline-fuzz"
echo "fuzz: ${seconds} s from seed ${seed}"
# A hang cannot pass the time limit unseen: the campaign stops taking cases at its end,
# and a case that never returns is killed here.
( ulimit -v 4194304; timeout --signal=KILL "$((seconds + 60))" "$bin" --seconds "$seconds" --seed "$seed" )
