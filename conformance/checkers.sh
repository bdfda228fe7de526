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
keep_logs="${CONFORMANCE_LOGS:-}"

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
  # DATABASE_URL overrides the file by design: give the server its own.
  DATABASE_URL="$db_url" "$bin" serve --config "$cfg" > "$work/$label.log" 2>&1 &
  server_pid=$!
  local up=""
  for _ in $(seq 1 150); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2
  done
  if [ -z "$up" ]; then
    echo "server ($label) did not start:"; tail -20 "$work/$label.log"; exit 1
  fi
  for t in contrast carbon_black abnormal; do
    local url="http://127.0.0.1:$port/scim/v2/$t"
    checks=$((checks + 1))
    local out="$work/$label-$t-scim2.txt"
    SCIM_CLI_HEADERS="Authorization: Bearer tok-$t" "$venv/bin/scim" --url "$url" test > "$out" 2>&1 || true
    # Every check must be SUCCESS, except the one documented deviation (conformance/README.md):
    # scim2-tester removes the whole read-only Abnormal extension and expects success;
    # RFC 7644 §3.5.2.2 requires 400 mutability for read-only attributes, which is what we send.
    if python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
lines = text.splitlines()
allowed = re.compile(r"Failed to remove attribute 'urn:scim-bridge:schemas:extension:abnormal:2\.0:User': .* is readOnly")
bad, deviations = [], 0
for i, line in enumerate(lines):
    if line.startswith(("ERROR", "CRITICAL")):
        detail = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if allowed.search(detail):
            deviations += 1
        else:
            bad.append(f"{line} {detail}")
ok = sum(l.startswith("SUCCESS") for l in lines)
for b in bad:
    print(f"  {b}")
if ok == 0:
    print("  no SUCCESS line: the checker did not run")
    print("\n".join(lines[-10:]))
print(f"  {ok} SUCCESS, {len(bad)} errors, {deviations} documented deviation")
sys.exit(1 if bad or ok == 0 else 0)
PY
    then
      echo "scim2-cli   $label $t: all checks SUCCESS but documented deviations"
    else
      echo "scim2-cli   $label $t: FAILED"; failures=$((failures + 1))
    fi
    checks=$((checks + 1))
    out="$work/$label-$t-sanity.json"
    "$venv/bin/scim-sanity" probe "$url" --token "tok-$t" --i-accept-side-effects --json-output > "$out" 2>&1 || true
    # Every result must pass, except the one documented deviation (conformance/README.md):
    # scim-sanity adds the member id "fake-member-id", which is no user of the target;
    # scim-bridge answers 400 invalidValue instead of storing a membership it can never provision.
    if python3 - "$out" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"  scim-sanity produced no JSON: {e}")
    sys.exit(1)
allowed = {("PATCH /Groups/{id} add member", "Expected 200, got 400")}
bad = [r for r in d["results"] if r["status"] not in ("pass", "skip")
       and (r["name"], r.get("message", "")) not in allowed]
passed = sum(r["status"] == "pass" for r in d["results"])
for r in bad:
    print(f"  {r['status'].upper()} {r['name']}: {r.get('message', '')}")
print(f"  {passed} passed, {len(bad)} unexpected failures, "
      f"{sum((r['name'], r.get('message', '')) in allowed for r in d['results'])} documented deviation")
sys.exit(1 if bad else 0)
PY
    then
      echo "scim-sanity $label $t: all phases passed but the documented deviation"
    else
      echo "scim-sanity $label $t: FAILED"; failures=$((failures + 1))
    fi
  done
  kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""
  if [ -n "$keep_logs" ]; then mkdir -p "$keep_logs"; cp "$work/$label.log" "$keep_logs/"; fi
  if grep -q "internal error" "$work/$label.log"; then echo "server ($label) logged internal errors:"; grep -m5 "internal error" "$work/$label.log"; failures=$((failures + 1)); fi
}

run_backend sqlite "sqlite://$work/bridge.db"
if [ -n "${DATABASE_URL:-}" ] && [[ "$DATABASE_URL" == postgres* ]]; then
  # A fresh schema (no checkpoint, unlike CREATE/DROP DATABASE).
  ns="scimtest_conformance_$$"
  psql "$DATABASE_URL" -qc "CREATE SCHEMA $ns" >/dev/null
  sep='?'; case "$DATABASE_URL" in *\?*) sep='&';; esac
  run_backend postgres "${DATABASE_URL}${sep}options%5Bsearch_path%5D=$ns"
  psql "$DATABASE_URL" -qc "DROP SCHEMA IF EXISTS $ns CASCADE" >/dev/null || true
fi
echo "conformance: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
