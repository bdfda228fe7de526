#!/usr/bin/env bash
# scim-bridge bench runner (issue 11). See docs/performance.md.
#
#   bash bench/run.sh            # 10k and 100k users, Postgres + SQLite + delivery
#   bash bench/run.sh --full     # adds 1M users
#   bash bench/run.sh --smoke    # 1k users, 3 s per workload: checks the runner works (CI)
#
# Options: --no-build (use the existing release binary), --users "10000 100000",
# --conc "4 20 64", --duration SECONDS, --rate R (delivery simulator limit, calls/s).
# Env: PG_URL (default postgres://postgres@127.0.0.1:5432), PG_SSLMODE (default prefer, as
# sqlx and libpq; the bridge and pgbench use the same), CARGO_TARGET_DIR.
#
# Prints one table. Exits non-zero when a workload had errors (non-2xx, socket errors) or a
# step failed. Everything listens on 127.0.0.1 only; all loops are bounded.
set -euo pipefail
shopt -s inherit_errexit   # a failing command inside $(…) stops it too (new_pg_db's CREATE DATABASE)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
MODE=default
BUILD=1
USERS_LIST="10000 100000"
CONC_LIST="4 20 64"
DURATION=8
RATE=50
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_SSLMODE="${PG_SSLMODE:-prefer}"

while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) MODE=smoke; USERS_LIST="1000"; CONC_LIST="8"; DURATION=3; RATE=20 ;;
    --full) MODE=full; USERS_LIST="10000 100000 1000000" ;;
    --no-build) BUILD=0 ;;
    --users) USERS_LIST="$2"; shift ;;
    --conc) CONC_LIST="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --rate) RATE="$2"; shift ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
# A failure is written down, not kept in a variable: fail also runs inside $(…) (run_pgbench),
# a subshell whose variables are lost.
fail() { log "FAIL: $*"; echo "$*" >>"$WORK/failures"; }

# ---------------------------------------------------------------- tools (idempotent)
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v pgbench >/dev/null || need_apt+=(postgresql-contrib)
command -v psql >/dev/null || need_apt+=(postgresql-client)
command -v jq >/dev/null || need_apt+=(jq)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v curl >/dev/null || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing ${need_apt[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need_apt[@]}" >/dev/null
fi

# ---------------------------------------------------------------- build
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/scim-bridge"
if [ "$BUILD" = 1 ]; then
  log "cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet --bin scim-bridge --example fixed_rate --example floor)
fi
[ -x "$BIN" ] || { echo "no release binary at $BIN" >&2; exit 1; }
FIXED_RATE="$TARGET_DIR/release/examples/fixed_rate"
[ -x "$FIXED_RATE" ] || { echo "no load generator at $FIXED_RATE" >&2; exit 1; }
FLOOR="$TARGET_DIR/release/examples/floor"
[ -x "$FLOOR" ] || { echo "no floor server at $FLOOR" >&2; exit 1; }

# ---------------------------------------------------------------- scratch, cleanup
WORK="$(mktemp -d /tmp/scim-bench.XXXXXX)"
RUN_ID="b$$"
DBS=()
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for d in "${DBS[@]}"; do psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

TOKEN="bench-token-$RUN_ID-$RANDOM$RANDOM"
TOKEN_SHA="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
ADMIN="bench-admin-$RUN_ID-$RANDOM$RANDOM"
ADMIN_SHA="$(printf %s "$ADMIN" | sha256sum | cut -d' ' -f1)"
export BENCH_DIR BENCH_TOKEN="$TOKEN" BENCH_TARGET=contrast

# ---------------------------------------------------------------- vendor simulator
SIM_PORT="$(free_port)"
"$BIN" simulate contrast --listen "127.0.0.1:$SIM_PORT" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!; PIDS+=("$SIM_PID")
SIM="http://127.0.0.1:$SIM_PORT"

wait_http() { # url, pid
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
wait_http "$SIM/_sim/faults" "$SIM_PID" || { cat "$WORK/sim.log" >&2; echo "simulator did not start" >&2; exit 1; }

# ---------------------------------------------------------------- bridge
BRIDGE_PID=""
BRIDGE=""
start_bridge() { # database_url, sync_enabled
  local port; port="$(free_port)"
  cat >"$WORK/bridge.toml" <<EOF
listen = "127.0.0.1:$port"
database_url = "$1"
admin_token_sha256 = ["$ADMIN_SHA"]

[sync]
enabled = $2
poll_interval = 250

[targets.contrast]
kind = "contrast"
token_sha256 = ["$TOKEN_SHA"]
base_url = "$SIM/Contrast/api/ng"
org_uuid = "00000000-0000-0000-0000-0000000000aa"
username = "bridge@example.com"
service_key = "svc-key"
api_key = "api-key"
EOF
  # The generated config is the truth: CI exports DATABASE_URL, which would override it.
  # The log filter is the default one an operator gets (its per-request span included).
  env -u DATABASE_URL -u RUST_LOG "$BIN" serve --config "$WORK/bridge.toml" >"$WORK/bridge.log" 2>&1 &
  BRIDGE_PID=$!; PIDS+=("$BRIDGE_PID")
  BRIDGE="http://127.0.0.1:$port"
  if ! wait_http "$BRIDGE/readyz" "$BRIDGE_PID"; then
    cat "$WORK/bridge.log" >&2; echo "bridge did not start" >&2; exit 1
  fi
}
stop_bridge() {
  [ -n "$BRIDGE_PID" ] || return 0
  kill "$BRIDGE_PID" 2>/dev/null || true
  wait "$BRIDGE_PID" 2>/dev/null || true
  BRIDGE_PID=""
}
rss() { awk -v k="$2:" '$1==k {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

new_pg_db() {
  local db="scim_bench_${RUN_ID}_$1"
  psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  psql "$PG_URL/postgres" -qAtc "CREATE DATABASE $db" >/dev/null
  echo "$db"
}

# ---------------------------------------------------------------- results table
TABLE="$WORK/table.tsv"
printf "db\tusers\tworkload\tconc\treq/s\tp50 ms\tp99 ms\terrors\tpgbench tps\tratio\tRSS MiB\tHWM MiB\n" >"$TABLE"
row() { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$@" >>"$TABLE"; }

to_ms() { # wrk latency like 1.23ms / 850.00us / 1.02s -> ms
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); printf "%.2f", v/1000}
    else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.2f", v}
    else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.2f", v*1000}
    else print "?" }'
}

# run_wrk script conc [base url, default the bridge] -> sets W_RPS W_P50 W_P99 W_ERR
run_wrk() {
  local script="$1" c="$2" out="$WORK/wrk.out"
  local threads=2; [ "$c" -lt 2 ] && threads=1
  BENCH_RUN="$RUN_ID-$RANDOM" wrk -t"$threads" -c"$c" -d"${DURATION}s" --timeout 10s --latency \
    -s "$BENCH_DIR/wrk/$script" "${3:-$BRIDGE}" >"$out" 2>&1 || true
  W_RPS="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
  W_P50="$(to_ms "$(awk '$1=="50%" {print $2}' "$out")")"
  W_P99="$(to_ms "$(awk '$1=="99%" {print $2}' "$out")")"
  local non2xx sock
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  sock="$(awk '/Socket errors:/ {gsub(",","");  print $4+$6+$8+$10}' "$out")"
  W_ERR=$(( ${non2xx:-0} + ${sock:-0} ))
  if [ -z "$W_RPS" ]; then cat "$out" >&2; W_RPS=0; W_ERR=$((W_ERR + 1)); fi
  if [ "$W_ERR" -gt 0 ]; then fail "$script c=$c: $W_ERR errors"; cp "$out" "/tmp/scim-bench-last-failed-wrk.out"; fi
}

# run_pgbench url script conc users -> echo tps
run_pgbench() {
  local c="$3"; local j=2; [ "$c" -lt 2 ] && j=1
  local out
  out="$(pgbench -n -M prepared -c "$c" -j "$j" -T "$DURATION" -D users="$4" -f "$BENCH_DIR/pgbench/$2" "$1" 2>&1)" || {
    echo "$out" >&2; fail "pgbench $2"; echo 0; return; }
  echo "$out" | awk '/^tps = / {printf "%.0f", $3}'
}
# The bridge's own latency histogram for GET /Users (`/metrics`, timed from routing to the
# response, so without the kernel's and the generator's queues): "le count" per line.
gf_hist() {
  curl -fsS "$BRIDGE/metrics" | awk -F'le="' '/^scim_bridge_scim_request_duration_seconds_bucket[{]/ &&
    /route="[/]scim[/]v2[/][{]target[}][/]Users"/ && /method="GET"/ {split($2, a, "\"} "); print a[1], a[2]}'
}
# hist_delta before after -> "requests p50 p99 share-within-5ms" of the requests between the two
# scrapes; a percentile is the upper bound (ms) of the first bucket that holds it ("<=2.5").
hist_delta() {
  awk 'NR==FNR {b[$1]=$2; next} {le[++n]=$1; d[n]=$2-b[$1]}
    END { t=d[n]; if (t<=0) {print 0, "-", "-", "-"; exit}
      for (i=1; i<=n; i++) { ms=(le[i]=="+Inf") ? "inf" : le[i]*1000
        if (p50=="" && d[i]>=0.5*t) p50="<=" ms; if (p99=="" && d[i]>=0.99*t) p99="<=" ms
        if (le[i]+0==0.005) in5=sprintf("%.2f%%", 100*d[i]/t) }
      print t, p50, p99, (in5=="" ? "?" : in5) }' "$1" "$2"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "-" }'; }

# ---------------------------------------------------------------- Postgres workloads
for N in $USERS_LIST; do
  DB="$(new_pg_db "$N")"; DBS+=("$DB")   # the function runs in a subshell
  DB_URL="$PG_URL/$DB?sslmode=$PG_SSLMODE"
  export BENCH_USERS="$N"
  start_bridge "$DB_URL" false
  IDLE_RSS="$(rss "$BRIDGE_PID" VmRSS)"
  log "postgres, $N users: seeding (INSERT ... SELECT generate_series)"
  t0=$(date +%s.%N)
  psql "$DB_URL" -qX -v ON_ERROR_STOP=1 -v users="$N" -f "$BENCH_DIR/pgbench/seed.sql" >/dev/null
  t1=$(date +%s.%N)
  SEED_S="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')"
  row pg "$N" "idle (seed ${SEED_S}s)" - - - - - - - "$IDLE_RSS" "$(rss "$BRIDGE_PID" VmHWM)"
  # The floor under the lookup ratio (round 12): the same select behind the least HTTP
  # service can be, measured right after the bridge at each concurrency.
  FLOOR_PORT="$(free_port)"
  "$FLOOR" "127.0.0.1:$FLOOR_PORT" "$DB_URL" "$TOKEN" 16 >"$WORK/floor.log" 2>&1 &
  FLOOR_PID=$!; PIDS+=("$FLOOR_PID")
  wait_http "http://127.0.0.1:$FLOOR_PORT/healthz" "$FLOOR_PID" || { cat "$WORK/floor.log" >&2; echo "floor did not start" >&2; exit 1; }
  for C in $CONC_LIST; do
    export BENCH_WALKERS=$(( (C + 1) / 2 ))   # one walk per connection (2 wrk threads)
    for wl in post:post_users.lua:post.sql get_filter:get_filter.lua:get_filter.sql get_by_id:get_by_id.lua:get_by_id.sql put:put_users.lua:put.sql patch:patch_users.lua:put.sql walk_pages:walk_pages.lua:get_page_seek.sql page_random:get_page.lua:get_page.sql; do
      IFS=: read -r name script pgs <<<"$wl"
      log "postgres $N users: $name c=$C"
      run_wrk "$script" "$C"
      if [ "$name" = get_filter ] && [ "${W_RPS:-0}" -gt "${MAX_GF:-0}" ]; then MAX_GF="$W_RPS"; fi
      TPS="$(run_pgbench "$DB_URL" "$pgs" "$C" "$N")"
      row pg "$N" "$name" "$C" "$W_RPS" "$W_P50" "$W_P99" "$W_ERR" "$TPS" "$(ratio "$W_RPS" "$TPS")" \
        "$(rss "$BRIDGE_PID" VmRSS)" "$(rss "$BRIDGE_PID" VmHWM)"
      if [ "$name" = get_filter ]; then
        run_wrk "$script" "$C" "http://127.0.0.1:$FLOOR_PORT"
        row pg "$N" "  (floor: bench/floor.rs, one select per request)" "$C" "$W_RPS" "$W_P50" "$W_P99" "$W_ERR" "$TPS" "$(ratio "$W_RPS" "$TPS")" - -
      fi
      if [ "$name" = post ] && [ "$C" = "$(echo $CONC_LIST | awk '{print $1}')" ]; then
        TPSF="$(run_pgbench "$DB_URL" post_full.sql "$C" "$N")"
        row pg "$N" "(pgbench: bridge's full write tx)" "$C" - - - - "$TPSF" "$(ratio "$W_RPS" "$TPSF")" - -
      fi
    done
  done
  # Open loop at half the best closed-loop rate: the latency an IdP sees when the bridge
  # is busy but not saturated (issue 11: p99 <= 5 ms).
  HALF=$(( ${MAX_GF:-2} / 2 ))
  log "postgres $N users: get_filter at a fixed $HALF req/s"
  gf_hist >"$WORK/hist0" || true
  if FR="$("$FIXED_RATE" "$BRIDGE/scim/v2/contrast" "$TOKEN" get_filter "$HALF" "$DURATION" "$N" 64)"; then
    FR_ERR=0
  else
    FR_ERR=1; fail "fixed-rate get_filter: $FR"
  fi
  fr() { echo "$FR" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }
  row pg "$N" "get_filter, open loop at half the max (p99 from due time)" 64 "$(fr rate)" "$(fr p50_ms)" "$(fr p99_ms)" \
    "$(( FR_ERR + $(fr errors | grep . || echo 0) ))" - - "$(rss "$BRIDGE_PID" VmRSS)" "$(rss "$BRIDGE_PID" VmHWM)"
  gf_hist >"$WORK/hist1" || true
  read -r H_N H_P50 H_P99 H_IN5 <<<"$(hist_delta "$WORK/hist0" "$WORK/hist1")"
  [ "${H_N:-0}" -gt 0 ] || fail "open loop: the bridge's histogram counted no GET /Users"
  row pg "$N" "  the bridge's own time for those $H_N (its histogram; $H_IN5 <= 5 ms)" 64 - "$H_P50" "$H_P99" - - - - -
  MAX_GF=0
  kill "$FLOOR_PID" 2>/dev/null || true; wait "$FLOOR_PID" 2>/dev/null || true
  stop_bridge
done

# ---------------------------------------------------------------- SQLite (embedded default)
N="$(echo $USERS_LIST | awk '{print $1}')"
C=8
SQ="$WORK/bench.db"
start_bridge "sqlite://$SQ" false
log "sqlite, $N users: seeding"
stop_bridge   # seed while no one holds the file
sed "s/USERS/$N/g" "$BENCH_DIR/sqlite/seed.sql" >"$WORK/seed_sqlite.sql"
sqlite3 "$SQ" <"$WORK/seed_sqlite.sql" || fail "sqlite seed"
start_bridge "sqlite://$SQ" false
for wl in post:post_users.lua get_filter:get_filter.lua put:put_users.lua patch:patch_users.lua; do
  IFS=: read -r name script <<<"$wl"
  log "sqlite $N users: $name c=$C"
  export BENCH_USERS="$N"
  run_wrk "$script" "$C"
  row sqlite "$N" "$name" "$C" "$W_RPS" "$W_P50" "$W_P99" "$W_ERR" - - "$(rss "$BRIDGE_PID" VmRSS)" "$(rss "$BRIDGE_PID" VmHWM)"
done
stop_bridge

# ---------------------------------------------------------------- delivery to a rate-limited vendor
DB="$(new_pg_db delivery)"; DBS+=("$DB")
start_bridge "$PG_URL/$DB?sslmode=$PG_SSLMODE" true
IDLE_RSS="$(rss "$BRIDGE_PID" VmRSS)"
post_user() { # userName -> prints id
  curl -fsS -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json" -d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"$1\",\"name\":{\"givenName\":\"D\",\"familyName\":\"U\"},\"emails\":[{\"value\":\"$1\",\"primary\":true}]}" \
    "$BRIDGE/scim/v2/contrast/Users" | jq -r .id
}
export -f post_user; export BRIDGE TOKEN

# 1) idle ack -> applied latency, 20 times.
LAT="$WORK/lat.txt"; : >"$LAT"
for i in $(seq 1 20); do
  id="$(post_user "ack-$RUN_ID-$i@example.com")" || { fail "delivery POST"; break; }
  t0=$(date +%s%N)
  ok=0
  for _ in $(seq 1 1000); do   # <= ~10 s
    st="$(curl -fsS -H "Authorization: Bearer $ADMIN" "$BRIDGE/admin/v1/mappings/contrast/$id" | jq -r .mapping.state)"
    if [ "$st" = synced ]; then ok=1; break; fi
    sleep 0.005
  done
  t1=$(date +%s%N)
  if [ "$ok" = 1 ]; then echo $(( (t1 - t0) / 1000000 )) >>"$LAT"; else fail "user $id not synced in 10 s"; fi
  sleep 0.3   # idle again
done
ACK_P50="$(sort -n "$LAT" | awk '{a[NR]=$1} END{ if (NR) print a[int((NR+1)/2)]; else print "?" }')"
ACK_P99="$(sort -n "$LAT" | awk '{a[NR]=$1} END{ if (NR) print a[NR]; else print "?" }')"
row pg - "ack->applied, idle (20 users; p99=max)" 1 - "$ACK_P50" "$ACK_P99" "$((20 - $(wc -l <"$LAT")))" - - "$(rss "$BRIDGE_PID" VmRSS)" "$(rss "$BRIDGE_PID" VmHWM)"
# The same 20 from the bridge's own clock: its history's SCIM write to its outcome, without
# the polling above (a curl and a jq every ~5 ms, which adds ~10-15 ms to each figure).
read -r H_ACK_N H_ACK_P50 H_ACK_MAX <<<"$(psql "$PG_URL/$DB" -qAt -F ' ' -c "
  SELECT count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY d), max(d) FROM (
    SELECT max(at) FILTER (WHERE kind = 'outcome') - min(at) FILTER (WHERE kind = 'scim') AS d
    FROM sync_history GROUP BY resource_id) x WHERE d IS NOT NULL")"
[ "$H_ACK_N" = 20 ] || fail "ack->applied: $H_ACK_N of 20 users have a SCIM write and an outcome in sync_history"
row pg - "  the same from sync_history (SCIM write -> outcome; p99=max)" 1 - "$H_ACK_P50" "$H_ACK_MAX" - - - - -

# 2) throughput against a simulator limited to RATE calls/s.
curl -fsS -X PUT -H 'Content-Type: application/json' -d "{\"rate_limit_per_sec\": $RATE}" "$SIM/_sim/faults" >/dev/null
curl -fsS -X DELETE "$SIM/_sim/calls" >/dev/null
M=$(( RATE * DURATION * 2 ))   # users; each needs >= 2 vendor calls (lookup + create)
log "delivery: $M users to a simulator limited to $RATE calls/s"
seq 1 "$M" | xargs -P 8 -I{} bash -c "post_user dl-$RUN_ID-{}@example.com >/dev/null" || fail "delivery POSTs"
deadline=$(( $(date +%s) + 20 + 4 * M / RATE ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  pend="$(psql "$PG_URL/$DB" -qAtc "SELECT count(*) FROM sync_jobs")"
  [ "$pend" = 0 ] && break
  sleep 0.5
done
[ "${pend:-1}" = 0 ] || fail "delivery queue not drained ($pend jobs left)"
curl -fsS "$SIM/_sim/calls" >"$WORK/calls.json"
read -r CALLS C429 SPAN <<<"$(jq -r '[length, (map(select(.status==429))|length), (if length > 0 then (map(.at_ms)|max) - (map(.at_ms)|min) else 0 end)] | @tsv' "$WORK/calls.json")"
[ "${CALLS:-0}" -gt 0 ] || fail "delivery: the simulator saw no calls"
OK_RATE="$(awk -v n="$CALLS" -v t="$C429" -v s="$SPAN" 'BEGIN{ if (s>0) printf "%.1f", (n-t)*1000/s; else print 0 }')"
PCT429="$(awk -v n="$CALLS" -v t="$C429" 'BEGIN{ if (n>0) printf "%.1f%%", 100*t/n; else print "-" }')"
row pg - "delivery: accepted calls/s (limit $RATE/s, 429s=$PCT429)" 8 "$OK_RATE" - - "$C429" "$RATE" "$(ratio "$OK_RATE" "$RATE")" \
  "$(rss "$BRIDGE_PID" VmRSS)" "$(rss "$BRIDGE_PID" VmHWM)"
stop_bridge

# ---------------------------------------------------------------- print
echo
echo "scim-bridge bench ($MODE) — $(date -u +%FT%TZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(psql "$PG_URL/postgres" -qAtc 'SHOW server_version' | cut -d' ' -f1) Postgres (sslmode=$PG_SSLMODE), load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ratio = bridge req/s ÷ pgbench tps of the same SQL shape at the same concurrency (delivery: accepted vendor calls/s ÷ limit)"
column -t -s $'\t' "$TABLE"
if [ -s "$WORK/failures" ]; then
  echo "bench: $(wc -l <"$WORK/failures") step(s) FAILED (see log above):" >&2; cat "$WORK/failures" >&2; exit 1
fi
