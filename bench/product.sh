#!/usr/bin/env bash
# Product catalogue benchmark: 100,000 products, list and search latency at
# the service (p50, p99). Optimised build.
#   bench/product.sh [products] [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked -p product --bench catalog -- "${1:-100000}" "${2:-2000}"
