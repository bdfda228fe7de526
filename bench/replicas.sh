#!/usr/bin/env bash
# One process on every core, or one single-threaded process per core? (docs/performance.md,
# round 9). On one seeded Postgres database, alternated round by round:
#   one  = one bridge with tokio's default runtime (a worker per core), wrk -t2 -cC;
#   split = two bridges with TOKIO_WORKER_THREADS=1, each given half the connections by its
#           own wrk -t1 -c(C/2) (what two 1-CPU replicas behind a Service look like).
# Then, with --open "R1 R2", the open-loop generator at a fixed rate R (one at R, 64
# connections; split: two at R/2, 32 connections each).
#
#   bash bench/replicas.sh                       # 100k users, c = 4 20 64, 3 rounds, 5 s
#   bash bench/replicas.sh --users 10000 --conc "20" --rounds 5 --open "6000 9000"
#
# Needs the release binary and fixed_rate example (bash bench/run.sh builds both), wrk,
# psql. Env: PG_URL (default postgres://postgres@127.0.0.1:5432), CARGO_TARGET_DIR.
# Everything listens on 127.0.0.1; the database is dropped at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BENCH_DIR="$ROOT/bench"
N=100000; CONCS="4 20 64"; ROUNDS=3; D=5; OPEN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --users) N="$2"; shift ;;
    --conc) CONCS="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --duration) D="$2"; shift ;;
    --open) OPEN="$2"; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scim-bridge/target}"
BIN="$TARGET_DIR/release/scim-bridge"
FIXED_RATE="$TARGET_DIR/release/examples/fixed_rate"
[ -x "$BIN" ] && [ -x "$FIXED_RATE" ] || { echo "build first: bash bench/run.sh (or cargo build --release --bin scim-bridge --example fixed_rate)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }

NAME=replicas
# shellcheck source=bench/scratch.sh
source "$BENCH_DIR/scratch.sh"   # scratch database, token, cleanup, start_bridge
start_bridge one 0; ONE="$URL_OUT"   # runs the migrations
psql "$URL" -qX -v ON_ERROR_STOP=1 -v users="$N" -f "$BENCH_DIR/pgbench/seed.sql" >/dev/null
start_bridge split1 1; S1="$URL_OUT"
start_bridge split2 1; S2="$URL_OUT"

rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$1"; }
p99() { awk '$1=="99%" {print $2}' "$1"; }
wrk_on() { # url threads conns out
  BENCH_RUN="r$$-$RANDOM" wrk -t"$2" -c"$3" -d"${D}s" --timeout 10s --latency \
    -s "$BENCH_DIR/wrk/get_filter.lua" "$1" >"$4" 2>&1 || true
  if grep -q "Non-2xx\|Socket errors" "$4"; then echo "errors in $4:" >&2; cat "$4" >&2; exit 1; fi
}
echo "get_filter, $N users, ${D} s per cell; one = 1 process, tokio default; split = 2 processes x 1 worker"
printf "conc\tround\tone req/s\tone p99\tsplit req/s\tsplit p99 (each)\tsplit/one\n"
for C in $CONCS; do
  H=$(( C / 2 )); [ "$H" -lt 1 ] && H=1
  for r in $(seq 1 "$ROUNDS"); do
    wrk_on "$ONE" 2 "$C" "$WORK/one.out"
    wrk_on "$S1" 1 "$H" "$WORK/s1.out" & w=$!
    wrk_on "$S2" 1 "$H" "$WORK/s2.out"
    wait "$w"
    a="$(rps "$WORK/one.out")"; b=$(( $(rps "$WORK/s1.out") + $(rps "$WORK/s2.out") ))
    printf "%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\n" "$C" "$r" "$a" "$(p99 "$WORK/one.out")" "$b" \
      "$(p99 "$WORK/s1.out")" "$(p99 "$WORK/s2.out")" "$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b/a}')"
  done
done
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k {print $2}'; }
[ -n "$OPEN" ] && printf "\nopen loop\trate\tround\tone p50/p99 ms\tsplit p50/p99 ms (each)\n"
for R in $OPEN; do
  for r in $(seq 1 "$ROUNDS"); do
    a="$("$FIXED_RATE" "$ONE/scim/v2/contrast" "$TOKEN" get_filter "$R" "$D" "$N" 64)"
    "$FIXED_RATE" "$S1/scim/v2/contrast" "$TOKEN" get_filter $(( R / 2 )) "$D" "$N" 32 >"$WORK/f1.out" & w=$!
    b2="$("$FIXED_RATE" "$S2/scim/v2/contrast" "$TOKEN" get_filter $(( R / 2 )) "$D" "$N" 32)"
    wait "$w"; b1="$(cat "$WORK/f1.out")"
    printf "\t%s\t%s\t%s/%s\t%s/%s, %s/%s\n" "$R" "$r" "$(field "$a" p50_ms)" "$(field "$a" p99_ms)" \
      "$(field "$b1" p50_ms)" "$(field "$b1" p99_ms)" "$(field "$b2" p50_ms)" "$(field "$b2" p99_ms)"
  done
done
