#!/usr/bin/env bash
# What a group's size costs its membership writes (docs/performance.md, round 23). On one
# seeded database (bench/pgbench/seed.sql), for each group size M: POST /Groups with up to
# 5000 members (the rest inserted by SQL: a bigger body passes the request size limit),
# then five of each of the IdPs' one-member PATCHes, one at a time (Okta's add, Okta's
# remove by filter, Entra's remove by value array), timed from the client: the median,
# min and max, and the size of the answer (a 200 with the group and every member; with
# `--answer no_content` the target answers 204).
#
#   bash bench/group_members.sh                               # 1k, 10k and 100k members
#   bash bench/group_members.sh --members "100 1000" --bin /path/to/scim-bridge
#   bash bench/group_members.sh --answer no_content    # the target answers group PATCHes 204
#
# Needs the release binary (cargo build --release --bin scim-bridge), psql and python3.
# Env: PG_URL (default postgres://postgres@127.0.0.1:5432), CARGO_TARGET_DIR. The bridge
# listens on 127.0.0.1 with sync off; the database is dropped at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="1000 10000 100000"
ANSWER=group
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/scim-bridge/target}/release/scim-bridge"
while [ $# -gt 0 ]; do
  case "$1" in
    --members) SIZES="$2"; shift ;;
    --bin) BIN="$2"; shift ;;
    --answer) ANSWER="$2"; shift ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$BIN" ] || { echo "build first: cargo build --release --bin scim-bridge" >&2; exit 1; }
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
# Users for the largest group and for the members its PATCHes add.
N=$(( $(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -1) + 100 ))
DB="scim_bench_groups_$$"
WORK="$(mktemp -d)"
TOKEN="bench-groups-token-0123456789"
SHA="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BRIDGE_PID=""
cleanup() {
  [ -n "$BRIDGE_PID" ] && kill "$BRIDGE_PID" 2>/dev/null && wait "$BRIDGE_PID" 2>/dev/null
  psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql "$PG_URL/postgres" -qAtc "CREATE DATABASE $DB" >/dev/null
cat >"$WORK/bridge.toml" <<EOT
listen = "127.0.0.1:$PORT"
database_url = "$PG_URL/$DB"

[sync]
enabled = false

[targets.contrast]
kind = "contrast"
token_sha256 = ["$SHA"]
base_url = "http://127.0.0.1:9/Contrast/api/ng"
org_uuid = "00000000-0000-0000-0000-0000000000aa"
username = "bridge@example.com"
service_key = "svc-key"
api_key = "api-key"
group_patch_answer = "$ANSWER"
EOT
env -u DATABASE_URL -u RUST_LOG "$BIN" serve --config "$WORK/bridge.toml" >"$WORK/bridge.log" 2>&1 &
BRIDGE_PID=$!
for _ in $(seq 150); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$WORK/bridge.log" >&2; echo "bridge did not start" >&2; exit 1; }
echo "seeding $N users"
psql "$PG_URL/$DB" -qX -v ON_ERROR_STOP=1 -v users="$N" -f "$ROOT/bench/pgbench/seed.sql" >/dev/null
for M in $SIZES; do
  python3 "$ROOT/bench/groups/member_patches.py" "http://127.0.0.1:$PORT" "$TOKEN" "$M" "$PG_URL/$DB"
done
