#!/usr/bin/env bash
# Side by side: scim-bridge vs an in-memory Node.js SCIM gateway (issue 11). See
# bench/compare/README.md.
#
#   bash bench/compare.sh            # 10k users, c = 20 8 64, 8 s per workload
#   bash bench/compare.sh --smoke    # 500 users, c = 8, 2 s: checks the script works
#
# Options: --no-build (use the existing release binary), --users N, --conc "20 8 64",
# --duration SECONDS, --no-sqlite.
# Env: PG_URL (default postgres://postgres@127.0.0.1:5432), CARGO_TARGET_DIR (default
# $HOME/.cache/scim-bridge/target), NODE_GW_DIR (default $HOME/.cache/scim-bridge/node-gw),
# SCIMGATEWAY_SRC (optional: a scimgateway source tree or git repository, see below),
# SCIMGATEWAY_DIR (default $HOME/.cache/scim-bridge/scimgateway).
#
# Node gateway "scimmy" (always): the npm packages scimmy + scimmy-routers (Express) with an
# in-memory Map store (bench/compare/node-gw/server.mjs), installed with `npm ci` from the
# committed lock file into NODE_GW_DIR (outside the clone).
# Node gateway "scimgateway" (when SCIMGATEWAY_SRC is set): jelhub/scimgateway with its
# in-memory plugin-loki (LokiJS). The npm registry reachable here does not serve the
# `scimgateway` package, so its source is copied into SCIMGATEWAY_DIR, its dependencies are
# installed from npm, and it runs on Node with tsx (node --import=tsx); the config is the
# vendor's plugin-loki.json with port, loopback-only, bearer token and logging overridden.
#
# The bridge runs on a fresh Postgres
# database (and on SQLite), sync disabled, with DATABASE_URL and SCIM_BRIDGE_* removed from
# its environment so the generated config is what it runs with. The same wrk scripts
# (bench/wrk/post_users.lua, get_filter.lua) hit every server, back to back per
# (workload, concurrency); every server holds the same N seeded users seed<k>@example.com.
#
# Prints one table; exits non-zero when a row had errors (non-2xx or socket errors, flagged
# "!") or a step failed. Everything listens on 127.0.0.1 only; everything it started is
# killed on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
MODE=default
BUILD=1
USERS=10000
CONC_LIST="20 8 64"
DURATION=8
WARMUP=2
SQLITE=1
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
NODE_GW_DIR="${NODE_GW_DIR:-$HOME/.cache/scim-bridge/node-gw}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scim-bridge/target}"

while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) MODE=smoke; USERS=500; CONC_LIST="8"; DURATION=2; WARMUP=1 ;;
    --no-build) BUILD=0 ;;
    --users) USERS="$2"; shift ;;
    --conc) CONC_LIST="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --no-sqlite) SQLITE=0 ;;
    -h|--help) sed -n 2,24p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "[compare $(date +%H:%M:%S)] $*" >&2; }
FAILED=0
fail() { log "FAIL: $*"; FAILED=1; }

# ---------------------------------------------------------------- tools (idempotent)
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v psql >/dev/null || need_apt+=(postgresql-client)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v curl >/dev/null || need_apt+=(curl)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing ${need_apt[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need_apt[@]}" >/dev/null
fi

# ---------------------------------------------------------------- Node gateway (npm ci into the cache)
GW_SRC="$BENCH_DIR/compare/node-gw"
mkdir -p "$NODE_GW_DIR"
cp "$GW_SRC/package.json" "$GW_SRC/package-lock.json" "$GW_SRC/server.mjs" "$GW_SRC/seed.mjs" "$NODE_GW_DIR/"
LOCK_SUM="$(sha256sum "$GW_SRC/package-lock.json" | cut -d' ' -f1)"
if [ ! -d "$NODE_GW_DIR/node_modules" ] || [ "$(cat "$NODE_GW_DIR/.lock.sha256" 2>/dev/null)" != "$LOCK_SUM" ]; then
  log "npm ci (scimmy, scimmy-routers, express) into $NODE_GW_DIR"
  (cd "$NODE_GW_DIR" && npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' >&2) || true
  [ -f "$NODE_GW_DIR/node_modules/scimmy/package.json" ] || { echo "npm ci failed" >&2; exit 1; }
  echo "$LOCK_SUM" >"$NODE_GW_DIR/.lock.sha256"
fi
pkgver() { node -p "require('$NODE_GW_DIR/node_modules/$1/package.json').version"; }

SGW=0
if [ -n "${SCIMGATEWAY_SRC:-}" ]; then
  SGW=1
  SGW_DIR="${SCIMGATEWAY_DIR:-$HOME/.cache/scim-bridge/scimgateway}"
  mkdir -p "$SGW_DIR"
  if [ "$(git -C "$SCIMGATEWAY_SRC" rev-parse --is-bare-repository 2>/dev/null)" = true ]; then
    git -C "$SCIMGATEWAY_SRC" archive HEAD | tar -x -C "$SGW_DIR"
  else
    tar -C "$SCIMGATEWAY_SRC" --exclude=./node_modules --exclude=./.git -cf - . | tar -x -C "$SGW_DIR"
  fi
  [ -f "$SGW_DIR/lib/plugin-loki.ts" ] || { echo "SCIMGATEWAY_SRC=$SCIMGATEWAY_SRC has no lib/plugin-loki.ts" >&2; exit 1; }
  SGW_SUM="$(sha256sum "$SGW_DIR/package.json" | cut -d' ' -f1)"
  if [ ! -d "$SGW_DIR/node_modules/tsx" ] || [ "$(cat "$SGW_DIR/.pkg.sha256" 2>/dev/null)" != "$SGW_SUM" ]; then
    log "npm install (scimgateway's dependencies) into $SGW_DIR"
    # --ignore-scripts: its postinstall needs bun and only copies example files.
    (cd "$SGW_DIR" && npm install --ignore-scripts --omit=peer --no-audit --no-fund --loglevel=error 2>&1 \
      | grep -v -e 'Unknown user config' -e EBADENGINE >&2) || true
    [ -d "$SGW_DIR/node_modules/lokijs" ] && [ -d "$SGW_DIR/node_modules/tsx" ] || { echo "npm install for scimgateway failed" >&2; exit 1; }
    echo "$SGW_SUM" >"$SGW_DIR/.pkg.sha256"
  fi
  printf "import './lib/plugin-loki.ts'\nexport {}\n" >"$SGW_DIR/bench-entry.ts"
fi

# ---------------------------------------------------------------- build
BIN="$CARGO_TARGET_DIR/release/scim-bridge"
if [ "$BUILD" = 1 ]; then
  log "cargo build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
  (cd "$ROOT" && cargo build --release --quiet)
fi
[ -x "$BIN" ] || { echo "no release binary at $BIN" >&2; exit 1; }

# ---------------------------------------------------------------- scratch, cleanup
WORK="$(mktemp -d /tmp/scim-compare.XXXXXX)"
RUN_ID="c$$"
DBS=()
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for d in "${DBS[@]}"; do psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url pid [header]
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null ${3:+-H "$3"} "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

TOKEN="cmp-token-$RUN_ID-$RANDOM$RANDOM"
TOKEN_SHA="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
ADMIN_SHA="$(printf %s "cmp-admin-$RUN_ID-$RANDOM$RANDOM" | sha256sum | cut -d' ' -f1)"
export BENCH_DIR BENCH_TOKEN="$TOKEN" BENCH_USERS="$USERS"

# The bridge's environment: the generated config is the truth, so no DATABASE_URL and no
# SCIM_BRIDGE_* (env overrides the file); no RUST_LOG: the default log filter, as operators
# run it.
UNSET=(-u DATABASE_URL -u RUST_LOG)
while IFS= read -r v; do UNSET+=(-u "$v"); done < <(compgen -e | grep '^SCIM_BRIDGE_' || true)

# ---------------------------------------------------------------- vendor simulator (as bench/run.sh; sync is off)
SIM_PORT="$(free_port)"
env "${UNSET[@]}" "$BIN" simulate contrast --listen "127.0.0.1:$SIM_PORT" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!; PIDS+=("$SIM_PID")
wait_http "http://127.0.0.1:$SIM_PORT/_sim/faults" "$SIM_PID" || { cat "$WORK/sim.log" >&2; echo "simulator did not start" >&2; exit 1; }

start_bridge() { # name database_url -> sets PID_<name>, URL_<name>
  local name="$1" port; port="$(free_port)"
  cat >"$WORK/$name.toml" <<EOF
listen = "127.0.0.1:$port"
database_url = "$2"
admin_token_sha256 = ["$ADMIN_SHA"]

[sync]
enabled = false

[targets.contrast]
kind = "contrast"
token_sha256 = ["$TOKEN_SHA"]
base_url = "http://127.0.0.1:$SIM_PORT/Contrast/api/ng"
org_uuid = "00000000-0000-0000-0000-0000000000aa"
username = "bridge@example.com"
service_key = "svc-key"
api_key = "api-key"
EOF
  env "${UNSET[@]}" "$BIN" serve --config "$WORK/$name.toml" >>"$WORK/$name.log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  printf -v "PID_$name" %s "$pid"
  printf -v "URL_$name" %s "http://127.0.0.1:$port"
  wait_http "http://127.0.0.1:$port/readyz" "$pid" || { cat "$WORK/$name.log" >&2; echo "bridge ($name) did not start" >&2; exit 1; }
}
stop_pid() {
  kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------- bridge on Postgres
PGDB="scim_compare_${RUN_ID}"
psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS $PGDB" >/dev/null 2>&1
psql "$PG_URL/postgres" -qAtc "CREATE DATABASE $PGDB" >/dev/null
DBS+=("$PGDB")
start_bridge pg "$PG_URL/$PGDB"
log "bridge/postgres: seeding $USERS users (bench/pgbench/seed.sql)"
t0=$(date +%s.%N)
psql "$PG_URL/$PGDB" -qX -v ON_ERROR_STOP=1 -v users="$USERS" -f "$BENCH_DIR/pgbench/seed.sql" >/dev/null
SEED_pg="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')"

# ---------------------------------------------------------------- bridge on SQLite
if [ "$SQLITE" = 1 ]; then
  SQ="$WORK/compare.db"
  start_bridge sqlite "sqlite://$SQ"          # creates the schema
  stop_pid "$PID_sqlite"                      # seed while no one holds the file
  log "bridge/sqlite: seeding $USERS users (bench/sqlite/seed.sql)"
  t0=$(date +%s.%N)
  sed "s/USERS/$USERS/g" "$BENCH_DIR/sqlite/seed.sql" | sqlite3 "$SQ" >/dev/null || fail "sqlite seed"
  SEED_sqlite="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')"
  start_bridge sqlite "sqlite://$SQ"
fi

# ---------------------------------------------------------------- Node gateway
GW_PORT="$(free_port)"
( cd "$NODE_GW_DIR" && exec env GW_LISTEN="127.0.0.1:$GW_PORT" GW_TOKEN="$TOKEN" GW_BASE=/scim/v2 NODE_ENV=production \
    node server.mjs ) >"$WORK/node.log" 2>&1 &
PID_node=$!; PIDS+=("$PID_node")
URL_node="http://127.0.0.1:$GW_PORT"
wait_http "$URL_node/healthz" "$PID_node" || { cat "$WORK/node.log" >&2; echo "node gateway did not start" >&2; exit 1; }
log "node gateway: seeding $USERS users through POST /scim/v2/Users (16 in flight)"
SEED_node="$(node "$NODE_GW_DIR/seed.mjs" "$URL_node/scim/v2" "$TOKEN" "$USERS" 16)" || { fail "node seed"; SEED_node="?"; }

if [ "$SGW" = 1 ]; then
  SGW_PORT="$(free_port)"
  # The vendor's own plugin-loki.json (just copied from SCIMGATEWAY_SRC) with only these overridden.
  SGW_PORT="$SGW_PORT" TOKEN="$TOKEN" node -e '
    const fs = require("fs"); const f = process.argv[1]; const c = JSON.parse(fs.readFileSync(f, "utf8"));
    const g = c.scimgateway;
    g.port = Number(process.env.SGW_PORT); g.localhostonly = true;
    g.log.loglevel = { file: "off", console: "off" };
    g.auth.basic = [{ username: "bench", password: require("crypto").randomUUID(), readOnly: false, baseEntities: [] }];
    g.auth.bearerToken = [{ token: process.env.TOKEN, readOnly: false, baseEntities: [] }];
    fs.writeFileSync(f, JSON.stringify(c, null, 2));' "$SGW_DIR/config/plugin-loki.json"
  ( cd "$SGW_DIR" && exec env NODE_ENV=production node --import=tsx ./bench-entry.ts ) >"$WORK/scimgw.log" 2>&1 &
  PID_sgw=$!; PIDS+=("$PID_sgw")
  URL_sgw="http://127.0.0.1:$SGW_PORT"
  wait_http "$URL_sgw/ping" "$PID_sgw" || { cat "$WORK/scimgw.log" >&2; echo "scimgateway did not start" >&2; exit 1; }
  log "scimgateway: seeding $USERS users through POST /Users (16 in flight)"
  SEED_sgw="$(node "$NODE_GW_DIR/seed.mjs" "$URL_sgw" "$TOKEN" "$USERS" 16)" || { fail "scimgateway seed"; SEED_sgw="?"; }
fi

# ---------------------------------------------------------------- measuring
BRIDGES=(pg); [ "$SQLITE" = 1 ] && BRIDGES+=(sqlite)
NODES=(node); [ "$SGW" = 1 ] && NODES+=(sgw)
SERVERS=("${BRIDGES[@]}" "${NODES[@]}")
label() { case "$1" in pg) echo "bridge/pg";; sqlite) echo "bridge/sqlite";; node) echo "node/scimmy";; sgw) echo "node/scimgateway";; esac; }
base_of() { case "$1" in node) echo /scim/v2;; sgw) echo "";; *) echo /scim/v2/contrast;; esac; }
url_of() { local v="URL_$1"; echo "${!v}"; }
pid_of() { local v="PID_$1"; echo "${!v}"; }

rss() { awk -v k="$2:" '$1==k {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
TCK="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { # "pid ticks" of every postgres server process on this host (the bridge's backends among them)
  local p
  for p in $(pgrep -x postgres 2>/dev/null || true); do echo "$p $(cpu_ticks "$p")"; done
}
pg_delta() { # before-file after-file -> ticks spent by processes alive at the end (exited ones are lost)
  awk 'NR==FNR {b[$1]=$2; next} {d += $2 - (($1 in b) ? b[$1] : 0)} END {print d+0}' "$1" "$2"
}

to_ms() { # wrk latency like 1.23ms / 850.00us / 1.02s -> ms
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); printf "%.2f", v/1000}
    else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.2f", v}
    else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.2f", v*1000}
    else print "?" }'
}

# run_wrk server script conc duration -> W_RPS W_P50 W_P99 W_ERR W_CPU W_PGCPU
run_wrk() {
  local srv="$1" script="$2" c="$3" d="$4" out="$WORK/wrk.out" pid
  local threads=2; [ "$c" -lt 2 ] && threads=1
  pid="$(pid_of "$srv")"
  local c0 t0 c1 t1
  c0="$(cpu_ticks "$pid")"; pg_ticks >"$WORK/pg0"; t0="$(date +%s%N)"
  BENCH_BASE="$(base_of "$srv")" BENCH_RUN="$RUN_ID-$srv-$RANDOM$RANDOM" \
    wrk -t"$threads" -c"$c" -d"${d}s" --timeout 10s --latency \
    -s "$BENCH_DIR/wrk/$script" "$(url_of "$srv")" >"$out" 2>&1 || true
  c1="$(cpu_ticks "$pid")"; pg_ticks >"$WORK/pg1"; t1="$(date +%s%N)"
  W_CPU="$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v k="$TCK" 'BEGIN{printf "%.0f", 100*(b-a)/k/((e-s)/1e9)}')"
  W_PGCPU="$(awk -v a=0 -v b="$(pg_delta "$WORK/pg0" "$WORK/pg1")" -v s="$t0" -v e="$t1" -v k="$TCK" 'BEGIN{printf "%.0f", 100*(b-a)/k/((e-s)/1e9)}')"
  W_RPS="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
  W_P50="$(to_ms "$(awk '$1=="50%" {print $2}' "$out")")"
  W_P99="$(to_ms "$(awk '$1=="99%" {print $2}' "$out")")"
  local non2xx sock
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  sock="$(awk '/Socket errors:/ {gsub(",","");  print $4+$6+$8+$10}' "$out")"
  W_ERR=$(( ${non2xx:-0} + ${sock:-0} ))
  if [ -z "$W_RPS" ]; then cat "$out" >&2; W_RPS=0; W_ERR=$((W_ERR + 1)); fi
}

TABLE="$WORK/table.tsv"
{
  printf "server\tworkload\tconc\treq/s\tp50 ms\tp99 ms\terrors\tRSS MiB\tcpu %%\tcpu ms/req\tpg cpu %%"
  for n in "${NODES[@]}"; do printf "\t÷%s" "$(label "$n" | cut -d/ -f2)"; done
  printf "\n"
} >"$TABLE"
DASHES="$(for n in "${NODES[@]}"; do printf "\t-"; done)"
row() { local IFS=$'\t'; printf "%s%s\n" "$*" "$DASHES" >>"$TABLE"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "-" }'; }

for srv in "${SERVERS[@]}"; do
  s="SEED_$srv"
  row "$(label "$srv")" "idle (seed ${!s}s)" - - - - - "$(rss "$(pid_of "$srv")" VmRSS)" - - -
done

# Warm-up (not recorded): lets V8 compile the hot paths, and every server's first
# connections and caches happen outside the measured runs.
for srv in "${SERVERS[@]}"; do
  for script in post_users.lua get_filter.lua; do
    log "warm-up $(label "$srv") $script ${WARMUP}s"
    run_wrk "$srv" "$script" 8 "$WARMUP"
  done
done

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for C in $CONC_LIST; do
  for wl in post:post_users.lua get_filter:get_filter.lua; do
    IFS=: read -r name script <<<"$wl"
    declare -A R=()
    declare -A LINE=()
    for srv in "${SERVERS[@]}"; do
      log "$(label "$srv") $name c=$C (load $(cut -d' ' -f1 /proc/loadavg))"
      run_wrk "$srv" "$script" "$C" "$DURATION"
      flag=""
      if [ "$W_ERR" -gt 0 ]; then
        flag="!"; fail "$(label "$srv") $name c=$C: $W_ERR errors (non-2xx or socket)"
        cp "$WORK/wrk.out" "/tmp/scim-compare-last-failed-wrk.out"
      fi
      pgc="-"; [ "$srv" = pg ] && pgc="$W_PGCPU"
      R[$srv]="$W_RPS"
      LINE[$srv]="$(label "$srv")	$name	$C	$W_RPS	$W_P50	$W_P99	$W_ERR$flag	$(rss "$(pid_of "$srv")" VmRSS)	$W_CPU	$(awk -v c="$W_CPU" -v r="$W_RPS" 'BEGIN{ if (r>0) printf "%.2f", 10*c/r; else print "-" }')	$pgc"
    done
    for srv in "${SERVERS[@]}"; do
      r=""
      for n in "${NODES[@]}"; do
        case " ${BRIDGES[*]} " in *" $srv "*) r+="	$(ratio "${R[$srv]}" "${R[$n]}")" ;; *) r+="	-" ;; esac
      done
      printf "%s%s\n" "${LINE[$srv]}" "$r" >>"$TABLE"
    done
    unset R LINE
  done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

for srv in "${SERVERS[@]}"; do
  row "$(label "$srv")" "peak (VmHWM)" - - - - - "$(rss "$(pid_of "$srv")" VmHWM)" - - -
done

# ---------------------------------------------------------------- print
echo
echo "scim-bridge vs in-memory Node.js SCIM gateway ($MODE) — $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores ($(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2; exit}')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load avg before $LOAD_BEFORE, after $LOAD_AFTER"
echo "bridge $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?') (release), Postgres $(psql "$PG_URL/postgres" -qAtc 'SHOW server_version' | cut -d' ' -f1) (synchronous_commit=$(psql "$PG_URL/postgres" -qAtc 'SHOW synchronous_commit')), node $(node -v), scimmy $(pkgver scimmy), scimmy-routers $(pkgver scimmy-routers), express $(pkgver express)$([ "$SGW" = 1 ] && echo ", scimgateway $(node -p "require('$SGW_DIR/package.json').version") (lokijs $(node -p "require('$SGW_DIR/node_modules/lokijs/package.json').version"), tsx)"), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo "$USERS users seeded in each server; ${DURATION}s per run, wrk -t2; runs of one (workload, conc) are back to back."
echo "cpu % = the server process's CPU over the run (200 = both cores); cpu ms/req = that CPU per request (the server process only); pg cpu % = all postgres processes on the host; ÷x = bridge req/s ÷ node gateway x's req/s, same workload and conc; ! = errors"
column -t -s $'\t' "$TABLE"
if [ "$FAILED" != 0 ]; then echo "compare: some runs FAILED (see log above)" >&2; exit 1; fi
