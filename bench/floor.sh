#!/usr/bin/env bash
# How much of pgbench's lookup rate can an HTTP service in front of Postgres reach on this
# machine at all? (docs/performance.md, round 12). On one seeded database, for each
# concurrency, the three alternated round by round, DURATION s per cell:
#   pgbench = bench/pgbench/get_filter.sql (-M prepared): the issue's reference;
#   floor   = bench/floor.rs: hyper + sqlx, one prepared select per request on a connection
#             of its own; no router, middleware, SCIM parser, JSON tree or coalescing;
#   bridge  = scim-bridge serve (sync off): GET /Users?filter=userName eq "…" (wrk, as
#             bench/run.sh).
# Per cell: req/s (pgbench: tps), the ratio to pgbench, and for floor and bridge the CPU
# per request of the server process and of Postgres (all its processes, ended backends
# included). Then the median of the rounds per concurrency.
#
#   bash bench/floor.sh                          # 10k users, c = 4 20 64, 3 rounds, 5 s
#   bash bench/floor.sh --users 100000 --conc "4 20" --rounds 5 --duration 8
#
# Needs the release binary and the floor example (cargo build --release --bin scim-bridge
# --example floor), wrk, pgbench, psql. Env: PG_URL (default postgres://postgres@127.0.0.1:5432),
# PG_SSLMODE (default prefer; the same for all three), CARGO_TARGET_DIR. Everything listens
# on 127.0.0.1; the database is dropped at the end. Exits non-zero on any failed request.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BENCH_DIR="$ROOT/bench"
N=10000; CONCS="4 20 64"; ROUNDS=3; D=5
while [ $# -gt 0 ]; do
  case "$1" in
    --users) N="$2"; shift ;;
    --conc) CONCS="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --duration) D="$2"; shift ;;
    -h|--help) sed -n 2,22p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scim-bridge/target}"
BIN="$TARGET_DIR/release/scim-bridge"
FLOOR="$TARGET_DIR/release/examples/floor"
[ -x "$BIN" ] && [ -x "$FLOOR" ] || { echo "build first: cargo build --release --bin scim-bridge --example floor" >&2; exit 1; }
for t in wrk pgbench psql; do command -v "$t" >/dev/null || { echo "$t is required" >&2; exit 1; }; done

NAME=floor
# shellcheck source=bench/scratch.sh
source "$BENCH_DIR/scratch.sh"   # scratch database, token, cleanup, start_bridge, run_wrk_cpu
wait_up() { # url pid log
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  cat "$3" >&2; echo "$1 did not come up" >&2; exit 1
}

start_bridge bridge 0   # runs the migrations
BRIDGE="$URL_OUT"; BRIDGE_PID="$PID_OUT"
psql "$URL" -qX -v ON_ERROR_STOP=1 -v users="$N" -f "$BENCH_DIR/pgbench/seed.sql" >/dev/null
FPORT="$(free_port)"
"$FLOOR" "127.0.0.1:$FPORT" "$URL" "$TOKEN" 16 >"$WORK/floor.log" 2>&1 &
FLOOR_PID=$!; PIDS+=("$FLOOR_PID")
FLOOR_URL="http://127.0.0.1:$FPORT"
wait_up "$FLOOR_URL/healthz" "$FLOOR_PID" "$WORK/floor.log"

run_pgbench() { # conc -> tps (nothing when pgbench failed; its output is then on stderr)
  local j=2 out; [ "$1" -lt 2 ] && j=1
  out="$(pgbench -n -M prepared -c "$1" -j "$j" -T "$D" -D users="$N" -f "$BENCH_DIR/pgbench/get_filter.sql" "$URL" 2>&1)" ||
    { echo "$out" >&2; return; }
  echo "$out" | awk '/^tps = / {printf "%.0f", $3}'
}
ROWS="$WORK/rows.tsv"; : >"$ROWS"
echo "get_filter, $N users, ${D} s per cell, $(nproc) cores, sslmode=${PG_SSLMODE:-prefer}; CPU in µs per request (server / Postgres)"
printf "conc\tround\tpgbench tps\tfloor req/s\tfloor/pg\tfloor CPU\tbridge req/s\tbridge/pg\tbridge CPU\tbridge/floor\n"
for C in $CONCS; do
  for r in $(seq 1 "$ROUNDS"); do
    PG="$(run_pgbench "$C")"
    read -r F _ FS FP <<<"$(run_wrk_cpu get_filter.lua "$FLOOR_URL" "$FLOOR_PID" "$C")"
    read -r B _ BS BP <<<"$(run_wrk_cpu get_filter.lua "$BRIDGE" "$BRIDGE_PID" "$C")"
    [ -n "$PG" ] && [ -n "$F" ] && [ -n "$B" ] || { echo "c=$C round $r failed (above)" >&2; exit 1; }
    printf "%s\t%s\t%s\t%s\t%s\t%s / %s\t%s\t%s\t%s / %s\t%s\n" "$C" "$r" "$PG" "$F" "$(ratio "$F" "$PG")" "$FS" "$FP" \
      "$B" "$(ratio "$B" "$PG")" "$BS" "$BP" "$(ratio "$B" "$F")" | tee -a "$ROWS"
  done
done
echo
echo "median of the rounds"
printf "conc\tfloor/pg\tbridge/pg\tbridge/floor\n"
for C in $CONCS; do
  med() { awk -F'\t' -v c="$C" -v k="$1" '$1 == c {print $k}' "$ROWS" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
  printf "%s\t%s\t%s\t%s\n" "$C" "$(med 5)" "$(med 8)" "$(med 10)"
done
