#!/usr/bin/env bash
# Analytics benchmark: 1,000,000 synthetic events ingested as the rebuild
# command does, then the artisan dashboard and 365-day market trends over
# HTTP (p50, p99), and a 20-page PDF report (seconds, resident memory).
# Optimised build.
#   bench/analytics.sh [events] [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked -p analytics --bench facts -- "${1:-1000000}" "${2:-1000}"
