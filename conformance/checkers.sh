#!/usr/bin/env bash
# Runs the public SCIM conformance checkers against a real scim-bridge server:
#   scim2-cli  (`scim --url … test`, built on scim2-tester): every check must be SUCCESS
#   scim-sanity (`scim-sanity probe … --i-accept-side-effects`): every phase must pass
# once per target kind (contrast, carbon_black, abnormal; vendors simulated in-process),
# on SQLite and, when DATABASE_URL names a Postgres server, on a fresh Postgres database.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scim-bridge/target}"
venv="${CONFORMANCE_VENV:-$HOME/.cache/scim-bridge/conformance-venv}"
pins="scim2-cli==0.6.0 scim2-tester==0.5.2 scim-sanity==0.7.4"

if [ ! -x "$venv/bin/scim" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q $pins
  echo "$pins" > "$venv/.pins"
fi

cargo build --locked --quiet --bin scim-bridge
bin="$CARGO_TARGET_DIR/debug/scim-bridge"
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
token_hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

failures=0
checks=0
run_backend() {
  local label="$1" db_url="$2"
  local port; port=$(free_port)
  local cfg="$work/$label.toml"
  {
    echo "listen = \"127.0.0.1:$port\""
    echo "database_url = \"$db_url\""
    for t in contrast carbon_black abnormal; do
      echo "[targets.$t]"
      echo "kind = \"$t\""
      echo "simulate = true"
      echo "token_sha256 = [\"$(token_hash "tok-$t")\"]"
    done
  } > "$cfg"
  "$bin" serve --config "$cfg" > "$work/$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  for t in contrast carbon_black abnormal; do
    local url="http://127.0.0.1:$port/scim/v2/$t"
    checks=$((checks + 1))
    local out="$work/$label-$t-scim2.txt"
    if SCIM_CLI_HEADERS="Authorization: Bearer tok-$t" "$venv/bin/scim" --url "$url" test > "$out" 2>&1 \
       && ! grep -qiE "ERROR|CRITICAL|FAIL" "$out" && grep -q "SUCCESS" "$out"; then
      echo "scim2-cli   $label $t: all checks SUCCESS ($(grep -c SUCCESS "$out") checks)"
    else
      echo "scim2-cli   $label $t: FAILED"; grep -viE "SUCCESS" "$out" | head -40; failures=$((failures + 1))
    fi
    checks=$((checks + 1))
    out="$work/$label-$t-sanity.txt"
    if "$venv/bin/scim-sanity" probe "$url" --token "tok-$t" --i-accept-side-effects > "$out" 2>&1; then
      echo "scim-sanity $label $t: all phases passed ($(grep -ciE "pass" "$out") pass lines)"
    else
      echo "scim-sanity $label $t: FAILED"; cat "$out" | tail -40; failures=$((failures + 1))
    fi
  done
  kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

run_backend sqlite "sqlite://$work/bridge.db"
if [ -n "${DATABASE_URL:-}" ] && [[ "$DATABASE_URL" == postgres* ]]; then
  db="scimtest_conformance_$$"
  psql "$DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
  pg_url=$(python3 -c "import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path='/$db').geturl())" "$DATABASE_URL")
  run_backend postgres "$pg_url"
  psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null || true
fi
echo "conformance: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
