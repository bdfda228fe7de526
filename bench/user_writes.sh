#!/usr/bin/env bash
# What a user's PUT and PATCH cost against Postgres's own limit (docs/performance.md,
# round 24). On one seeded database, for each concurrency, alternated round by round,
# DURATION s per cell, the tables vacuumed before each cell (the machine's autovacuum may
# be off, and every cell leaves dead rows):
#   put.sql      pgbench: the rows a PUT writes, as a transaction of five statements
#                (bench/run.sh's reference for put and patch);
#   put_one.sql  pgbench: the same rows as the bridge writes them on Postgres, one statement;
#   put, patch   the bridge (wrk bench/wrk/put_users.lua, patch_users.lua);
#   <name> put, <name> patch   the same against other builds, with --base PATH (repeatable;
#                named by the file's name).
# Per cell: req/s (pgbench: tps), p99, and CPU per request of the server and of Postgres.
# Then the median of the rounds per concurrency, as ratios to put.sql.
# With --sqlite: the bridges on a SQLite file (the embedded default; seeded by
# bench/sqlite/seed.sql, its WAL checkpointed before each cell), no pgbench cells, and the
# ratios are to the first bridge's put.
#
#   bash bench/user_writes.sh                                  # 10k users, c = 4 20 64, 3 rounds, 5 s
#   bash bench/user_writes.sh --base /tmp/ab/before --conc "4 20" --rounds 5
#   bash bench/user_writes.sh --sqlite --base /tmp/ab/before --conc 8
#
# Needs the release binary (cargo build --release --bin scim-bridge), wrk, pgbench, psql.
# Env: PG_URL (default postgres://postgres@127.0.0.1:5432), PG_SSLMODE, CARGO_TARGET_DIR.
# Everything listens on 127.0.0.1; the database is dropped at the end. Exits non-zero on
# any failed request.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BENCH_DIR="$ROOT/bench"
N=10000; CONCS="4 20 64"; ROUNDS=3; D=5; BASES=(); SQLITE=
while [ $# -gt 0 ]; do
  case "$1" in
    --users) N="$2"; shift ;;
    --conc) CONCS="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --duration) D="$2"; shift ;;
    --base) BASES+=("$2"); shift ;;
    --sqlite) SQLITE=1 ;;
    -h|--help) sed -n 2,24p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/scim-bridge/target}/release/scim-bridge"
[ -x "$BIN" ] || { echo "build first: cargo build --release --bin scim-bridge" >&2; exit 1; }
for b in "${BASES[@]}"; do [ -x "$b" ] || { echo "--base $b is not an executable" >&2; exit 1; }; done
for t in wrk pgbench psql ${SQLITE:+sqlite3}; do command -v "$t" >/dev/null || { echo "$t is required" >&2; exit 1; }; done

NAME=user_writes
# shellcheck source=bench/scratch.sh
source "$BENCH_DIR/scratch.sh"   # scratch database, token, cleanup, start_bridge, run_wrk_cpu
# Each server runs only for its own cells: pgbench at 64 clients and idle pools of other
# builds would pass Postgres' max_connections (100 by default).
[ -n "$SQLITE" ] && export BRIDGE_DB_URL="sqlite://$WORK/bench.db"
start_bridge bridge 0            # runs the migrations
kill "$PID_OUT"; wait "$PID_OUT" 2>/dev/null || true
SERVERS=("bridge $BIN")
for b in "${BASES[@]}"; do SERVERS+=("$(basename "$b") $b"); done
if [ -n "$SQLITE" ]; then
  sed "s/USERS/$N/g" "$BENCH_DIR/sqlite/seed.sql" | sqlite3 "$WORK/bench.db"
  # Before each cell (after its server's warm-up, while it is idle): the WAL copied into
  # the file and truncated, so every cell starts on an empty log.
  vacuum() { sqlite3 "$WORK/bench.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null; }
else
  psql "$URL" -qX -v ON_ERROR_STOP=1 -v users="$N" -f "$BENCH_DIR/pgbench/seed.sql" >/dev/null
  vacuum() { psql "$URL" -qX -c "VACUUM scim_resources, sync_jobs, sync_mappings, sync_history" >/dev/null; }
fi

# pgbench script conc -> "tps p99-ms server-us(-) postgres-us/tx"
run_pgbench() {
  local j=2 out p0 p1 n; [ "$2" -lt 2 ] && j=1
  p0="$(pg_ticks)"
  out="$(pgbench -n -M prepared -c "$2" -j "$j" -T "$D" -D users="$N" -r -f "$BENCH_DIR/pgbench/$1" "$URL" 2>&1)" ||
    { echo "$out" >&2; return; }
  p1="$(pg_ticks)"
  n="$(echo "$out" | awk '/number of transactions actually processed/ {print $NF}' | cut -d/ -f1)"
  echo "$(echo "$out" | awk '/^tps = / {printf "%.0f", $3}') - - $(us_per $((p1 - p0)) "$n")"
}
ROWS="$WORK/rows.tsv"; : >"$ROWS"
REF_CELL="put.sql"; STORE=Postgres; [ -n "$SQLITE" ] && { REF_CELL="bridge put"; STORE=SQLite; }
echo "user writes on $STORE, $N users, ${D} s per cell, $(nproc) cores; CPU in µs per request (server / Postgres)"
printf "conc\tround\tcell\treq/s\tp99 ms\tCPU\tvs %s\n" "$REF_CELL"
for C in $CONCS; do
  for r in $(seq 1 "$ROUNDS"); do
    cells=(); [ -n "$SQLITE" ] || cells=("put.sql" "put_one.sql")
    for s in "${SERVERS[@]}"; do
      read -r who _ <<<"$s"
      cells+=("$who put" "$who patch")
    done
    REF=""
    for cell in "${cells[@]}"; do
      case "$cell" in
        *.sql) vacuum; out="$(run_pgbench "$cell" "$C")" ;;
        *)
          read -r who wl <<<"$cell"
          for s in "${SERVERS[@]}"; do read -r w bin <<<"$s"; [ "$w" = "$who" ] && break; done
          script=put_users.lua; [ "$wl" = patch ] && script=patch_users.lua
          BIN="$bin" start_bridge "$who" 0
          # One second unmeasured: the pool's connections (TLS) and prepared statements.
          BENCH_RUN="warm$$" wrk -t1 -c"$C" -d1s -s "$BENCH_DIR/wrk/$script" "$URL_OUT" >/dev/null 2>&1 || true
          vacuum
          out="$(run_wrk_cpu "$script" "$URL_OUT" "$PID_OUT" "$C")"
          kill "$PID_OUT"; wait "$PID_OUT" 2>/dev/null || true ;;
      esac
      [ -n "$out" ] || { echo "c=$C round $r: $cell failed (above)" >&2; exit 1; }
      read -r RPS P99 SCPU PCPU <<<"$out"
      [ -n "$SQLITE" ] && PCPU=-
      [ "$cell" = "$REF_CELL" ] && REF="$RPS"
      printf "%s\t%s\t%s\t%s\t%s\t%s / %s\t%s\n" "$C" "$r" "$cell" "$RPS" "$P99" "$SCPU" "$PCPU" "$(ratio "$RPS" "$REF")" |
        tee -a "$ROWS"
    done
  done
done
echo
echo "median of the rounds: req/s ÷ $REF_CELL's"
mapfile -t CELLS < <(cut -f3 "$ROWS" | awk '!seen[$0]++')
(IFS=$'\t'; echo -e "conc\t${CELLS[*]}")
for C in $CONCS; do
  line="$C"
  for cell in "${CELLS[@]}"; do
    line+=$'\t'"$(awk -F'\t' -v c="$C" -v k="$cell" '$1 == c && $3 == k {print $7}' "$ROWS" | sort -g |
      awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
  done
  echo "$line"
done
