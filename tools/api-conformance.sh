#!/usr/bin/env bash
# Every service's OpenAPI document against the running service: a whole
# stack (`craftchain up` on free ports, a throwaway data directory) and
# schemathesis over each service's /openapi.json directly, then over the
# gateway's merged /openapi/all.json through the gateway, with an admin's
# token. The checks: no server error, every status, content type and body
# documented and matching its schema. A fixed seed and budget, so a run
# sends the same requests every time; any failure fails the run.
#
# ./dev test runs it (after the cargo tests); alone:
#   tools/api-conformance.sh [service…]   (default: every service, then the gateway)
# Settings: CONFORMANCE_SEED, CONFORMANCE_EXAMPLES, CONFORMANCE_MODE (all|positive),
# CONFORMANCE_KEEP=1 keeps the stack's data directory and reports.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED=${CONFORMANCE_SEED:-20261205}
EXAMPLES=${CONFORMANCE_EXAMPLES:-50}
MODE=${CONFORMANCE_MODE:-all}
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
ST_PATH=.tools/schemathesis
[[ -d $ST_PATH/schemathesis ]] || {
  echo "schemathesis is not installed: ./dev test installs it (tools/requirements-conformance.txt)" >&2
  exit 1
}
[[ -x target/debug/craftchain ]] || cargo build --locked -q -p craftchain-cli --bin craftchain

work=$(mktemp -d)
reports=$work/reports
mkdir -p "$reports"
# Nine free ports in a row for the stack.
base=$(python3 - <<'EOF'
import random, socket
for _ in range(500):
    base = random.randrange(20000, 60000)
    socks = []
    try:
        for i in range(9):
            s = socket.socket(); s.bind(("127.0.0.1", base + i)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
)
admin_email=conformance-admin@craftchain.test
admin_password="conformance-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"

CRAFTCHAIN_AUTH_BOOTSTRAP_ADMIN_EMAIL=$admin_email \
CRAFTCHAIN_AUTH_BOOTSTRAP_ADMIN_PASSWORD=$admin_password \
CRAFTCHAIN_GATEWAY_READ_QUOTA='{requests=100000,per_secs=1,burst=100000}' \
CRAFTCHAIN_GATEWAY_WRITE_QUOTA='{requests=100000,per_secs=1,burst=100000}' \
CRAFTCHAIN_GATEWAY_AUTH_QUOTA='{requests=100000,per_secs=1,burst=100000}' \
RUST_LOG=${RUST_LOG:-warn} \
  target/debug/craftchain up --base-port "$base" --data-dir "$work/data" >"$work/stack.log" 2>&1 &
stack=$!
cleanup() {
  kill "$stack" 2>/dev/null && wait "$stack" 2>/dev/null || true
  if [[ ${CONFORMANCE_KEEP:-0} == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

gateway=http://127.0.0.1:$base
ready() { # every service that runs answers /ready (the gateway's own waits for services that do not exist yet)
  for offset in 1 4 5 6 7 8; do curl -fsS "http://127.0.0.1:$((base + offset))/ready" >/dev/null 2>&1 || return 1; done
  curl -fsS "$gateway/health" >/dev/null 2>&1
}
for _ in $(seq 1 300); do
  ready && break
  kill -0 "$stack" 2>/dev/null || { cat "$work/stack.log" >&2; exit 1; }
  sleep 0.2
done
ready || { echo "the stack did not become ready" >&2; tail -50 "$work/stack.log" >&2; exit 1; }
token=$(curl -fsS -H 'content-type: application/json' \
  -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\"}" "$gateway/auth/login" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id_token"])')

port_of() { # service → its port in this stack
  case $1 in
    gateway) echo $((base + 0)) ;; product) echo $((base + 1)) ;; ml) echo $((base + 2)) ;;
    pricing) echo $((base + 3)) ;; analytics) echo $((base + 4)) ;;
    blockchain) echo $((base + 5)) ;; notification) echo $((base + 6)) ;; media) echo $((base + 7)) ;; auth) echo $((base + 8)) ;;
    *) echo "unknown service $1" >&2; exit 2 ;;
  esac
}

run() { # name spec-url base-url
  echo "==> schemathesis: $1 ($MODE, seed $SEED, $EXAMPLES examples per operation)"
  (cd "$work" && PYTHONPATH="$OLDPWD/$ST_PATH" python3 -m schemathesis.cli \
    --config-file "$OLDPWD/tools/schemathesis.toml" run "$2" --url "$3" \
    --checks "$CHECKS" --mode "$MODE" --seed "$SEED" --max-examples "$EXAMPLES" \
    --workers 1 --generation-database none --no-color \
    -H "Authorization: Bearer $token" \
    --report junit --report-junit-path "$reports/$1.xml")
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(auth product ml pricing analytics notification media blockchain gateway)
failed=()
for name in "${targets[@]}"; do
  if [[ $name == gateway ]]; then
    run gateway "$gateway/openapi/all.json" "$gateway" || failed+=(gateway)
  else
    url=http://127.0.0.1:$(port_of "$name")
    run "$name" "$url/openapi.json" "$url" || failed+=("$name")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "API conformance failed for: ${failed[*]}" >&2
  exit 1
fi
echo "API conformance: every document matches its service"
