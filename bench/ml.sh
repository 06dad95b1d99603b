#!/usr/bin/env bash
# Photo analysis benchmark: palette + quality of 50 synthetic 12 MP JPEGs,
# end to end from their bytes on one core, the ML service's code against a
# Python baseline (Pillow with draft decoding, numpy, scikit-learn KMeans;
# pinned in tools/requirements-ml-bench.txt, installed into
# target/ml-bench/venv) on the same files; p50/p99 and the ratio.
#   bench/ml.sh [photos=50] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
photos="${1:-50}"
rounds="${2:-3}"
work="$PWD/target/ml-bench"
mkdir -p "$work"
if [[ ! -x $work/venv/bin/python ]]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q -r tools/requirements-ml-bench.txt
fi
cargo bench --locked -q -p ml --bench analyse --no-run
# Both measured on one core.
rust=$(taskset -c 0 cargo bench --locked -q -p ml --bench analyse -- "$work/photos" "$photos" "$rounds")
echo "$rust"
py=$(taskset -c 0 "$work/venv/bin/python" bench/ml_baseline.py "$work/photos" "$photos" "$rounds")
echo "$py"
r=$(sed -n 's/^RUST_P50_MS=//p' <<<"$rust")
p=$(sed -n 's/^PY_P50_MS=//p' <<<"$py")
python3 -c "print(f'python p50 / rust p50 = {float($p) / float($r):.1f}x  (target >= 3x)')"
