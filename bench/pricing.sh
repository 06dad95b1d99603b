#!/usr/bin/env bash
# Pricing benchmark: 100,000 completed orders ingested as pushes, then
# calculate and market-analysis latency at the service (p50, p99).
# Optimised build.
#   bench/pricing.sh [orders] [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked -p pricing --bench market -- "${1:-100000}" "${2:-2000}"
