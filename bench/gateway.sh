#!/usr/bin/env bash
# Gateway benchmark: wrk on loopback against
#   (a) a read endpoint of a service directly,
#   (b) the same through the gateway with a valid token (JWT check + rate limit on),
#   (c) the same through nginx as a plain reverse proxy (keepalive upstream).
# Interleaved rounds; prints rps, p50, p99 and the ratios gateway/nginx and
# gateway/direct. Installs wrk and nginx from Debian's packages if missing.
#
#   bench/gateway.sh [rounds] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-10}
CONNS=${3:-32}
BASE=28000

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light
fi
[[ ${SKIP_BUILD:-} == 1 ]] || cargo build --release --locked -p craftchain-cli --bin craftchain

WORK=$(mktemp -d)
cleanup() {
  [[ -n ${UP_PID:-} ]] && kill "$UP_PID" 2>/dev/null || true
  [[ -n ${GW_PID:-} ]] && kill "$GW_PID" 2>/dev/null || true
  [[ -f $WORK/nginx.pid ]] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Quotas high enough that the limiter checks every request but refuses none;
# logs at warn for all three contenders (nginx's access log is off too).
CRAFTCHAIN_DATA_DIR=$WORK/data RUST_LOG=warn \
CRAFTCHAIN_GATEWAY_READ_QUOTA__REQUESTS=100000000 CRAFTCHAIN_GATEWAY_READ_QUOTA__PER_SECS=1 \
  CRAFTCHAIN_GATEWAY_READ_QUOTA__BURST=100000000 \
  ./target/release/craftchain up --base-port $BASE >"$WORK/up.log" 2>&1 &
UP_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$BASE/health" >/dev/null && break; kill -0 "$UP_PID" 2>/dev/null || { cat "$WORK/up.log" >&2; exit 1; }; sleep 0.1; done

# The gateway again in a process of its own, as it runs in production (one
# Cloud Run service per container): nothing else shares its runtime.
CRAFTCHAIN_DATA_DIR=$WORK/gw RUST_LOG=warn PORT=$((BASE + 200)) \
CRAFTCHAIN_IDENTITY__JWKS_URL="http://127.0.0.1:$((BASE + 8))/auth/.well-known/jwks.json" \
CRAFTCHAIN_GATEWAY_UPSTREAMS__PRODUCT="http://127.0.0.1:$((BASE + 1))" \
CRAFTCHAIN_GATEWAY_UPSTREAMS__ML="http://127.0.0.1:$((BASE + 2))" \
CRAFTCHAIN_GATEWAY_UPSTREAMS__PRICING="http://127.0.0.1:$((BASE + 3))" \
CRAFTCHAIN_GATEWAY_UPSTREAMS__ANALYTICS="http://127.0.0.1:$((BASE + 4))" \
CRAFTCHAIN_GATEWAY_UPSTREAMS__BLOCKCHAIN="http://127.0.0.1:$((BASE + 5))" \
CRAFTCHAIN_GATEWAY_UPSTREAMS__NOTIFICATION="http://127.0.0.1:$((BASE + 6))" \
CRAFTCHAIN_GATEWAY_UPSTREAMS__MEDIA="http://127.0.0.1:$((BASE + 7))" \
CRAFTCHAIN_GATEWAY_UPSTREAMS__AUTH="http://127.0.0.1:$((BASE + 8))" \
CRAFTCHAIN_GATEWAY_READ_QUOTA__REQUESTS=100000000 CRAFTCHAIN_GATEWAY_READ_QUOTA__PER_SECS=1 \
  CRAFTCHAIN_GATEWAY_READ_QUOTA__BURST=100000000 \
  ${GW_THREADS:+env TOKIO_WORKER_THREADS=$GW_THREADS} ./target/release/craftchain serve gateway >"$WORK/gw.log" 2>&1 &
GW_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((BASE + 200))/health" >/dev/null && break; kill -0 "$GW_PID" 2>/dev/null || { cat "$WORK/gw.log" >&2; exit 1; }; sleep 0.1; done

SIGNUP=$(curl -sf -X POST "http://127.0.0.1:$BASE/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"bench@example.in","password":"kantha-stitch-2026","display_name":"Bench","role":"artisan"}')
TOKEN=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["id_token"])' "$SIGNUP")
UID_=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["user"]["id"])' "$SIGNUP")
PATH_=/auth/users/$UID_

cat >"$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream auth { server 127.0.0.1:$((BASE + 8)); keepalive 128; }
  server {
    listen 127.0.0.1:$((BASE + 100));
    location / {
      proxy_pass http://auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
NGINX
nginx -c "$WORK/nginx.conf" -p "$WORK"

declare -A TARGET=(
  [direct]="http://127.0.0.1:$((BASE + 8))$PATH_"
  [gateway]="http://127.0.0.1:$BASE$PATH_"
  [gateway-own]="http://127.0.0.1:$((BASE + 200))$PATH_"
  [nginx]="http://127.0.0.1:$((BASE + 100))$PATH_"
)
for name in direct gateway gateway-own nginx; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $TOKEN" "${TARGET[$name]}")
  [[ $code == 200 ]] || { echo "$name answered $code" >&2; exit 1; }
  wrk -t1 -c"$CONNS" -d2s -H "authorization: Bearer $TOKEN" "${TARGET[$name]}" >/dev/null # warm-up
done

# CPU time of the proxy's own processes (user + system clock ticks), for the
# contenders that run alone in theirs: a steadier figure than rps when wrk,
# the services and the proxy share two cores.
NGINX_PIDS=$(pgrep -P "$(cat "$WORK/nginx.pid")" | tr '\n' ' ') # this nginx's workers only
declare -A PROXY_PIDS=([gateway-own]="$GW_PID" [nginx]="$NGINX_PIDS")
ticks() { local t=0 pid; for pid in "$@"; do t=$(( t + $(awk '{print $14 + $15}' "/proc/$pid/stat") )); done; echo "$t"; }
HZ=$(getconf CLK_TCK)

RESULTS=$WORK/results.txt
for round in $(seq "$ROUNDS"); do
  for name in direct gateway gateway-own nginx; do
    pids=${PROXY_PIDS[$name]:-}
    [[ -n $pids ]] && t0=$(ticks $pids)
    out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H "authorization: Bearer $TOKEN" "${TARGET[$name]}")
    echo "$out" | grep -q 'Non-2xx' && { echo "$name: non-2xx answers" >&2; echo "$out" >&2; exit 1; }
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    sent=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu=-
    [[ -n $pids ]] && cpu=$(awk -v t=$(( $(ticks $pids) - t0 )) -v hz="$HZ" -v n="$sent" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    echo "$round $name $rps $p50 $p99 $cpu" | tee -a "$RESULTS"
  done
done

python3 - "$RESULTS" <<'PY'
import sys, statistics
def ms(v):
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
    return float(v)
rows = [l.split() for l in open(sys.argv[1])]
by, cpu = {}, {}
for _, name, rps, p50, p99, us in rows:
    by.setdefault(name, []).append((float(rps), ms(p50), ms(p99)))
    if us != "-":
        cpu.setdefault(name, []).append(float(us))
med = {n: tuple(statistics.median(x[i] for x in v) for i in range(3)) for n, v in by.items()}
print(f"\n{'target':<11} {'rps':>10} {'p50 ms':>8} {'p99 ms':>8} {'proxy CPU':>12}   (median of {len(by['direct'])} rounds)")
for n in ("direct", "gateway", "gateway-own", "nginx"):
    r, a, b = med[n]
    c = f"{statistics.median(cpu[n]):.2f} us/req" if n in cpu else "-"
    print(f"{n:<11} {r:>10.0f} {a:>8.3f} {b:>8.3f} {c:>12}")
d, x = med["direct"], med["nginx"]
for n in ("gateway", "gateway-own"):
    g = med[n]
    print(f"\n{n}: /nginx rps = {g[0] / x[0]:.2f}x (target >= 1.0), /direct rps = {g[0] / d[0]:.2f}x, "
          f"p50 added over direct = {g[1] - d[1]:.3f} ms (target <= 0.5 ms)")
print(f"nginx p50 added over direct = {x[1] - d[1]:.3f} ms")
PY
