#!/usr/bin/env bash
# Instructions per lookup, counted by valgrind (docs/performance.md, round 17): a figure
# that does not move with the machine's noise, for A/Bs too small for wall-clock rounds on
# a shared 2-core VM. For each binary, on one seeded Postgres database:
#   - `scim-bridge serve` (sync off) starts under `valgrind --tool=callgrind` with
#     instrumentation off, so start-up is not counted (aws-lc's jitter entropy and the
#     metrics clock's calibration run a number of instructions that depends on timing);
#   - WARMUP lookups open the connection and prepare the statements, uncounted;
#   - instrumentation goes on, LOOKUPS sequential keep-alive lookups
#     (GET /Users?filter=userName eq "seed<k>@example.com", random k, a fixed seed: the
#     same requests for every binary and run) are counted, and the counts are dumped.
# Prints instructions per lookup for every run (the whole process: handler, runtime,
# sqlx, allocator; not the kernel, not Postgres), and with two binaries the ratio.
# One client, one request at a time: the single-request path, without the coalescing that
# concurrent lookups share. With `--request get` the requests are single GETs by id
# (GET /Users/seed-<k>, what Okta sends before a PUT) instead of userName lookups.
#
#   bash bench/instructions.sh                          # the release binary, 2 runs
#   bash bench/instructions.sh --base /tmp/old-scim-bridge --runs 3
#   bash bench/instructions.sh --request get
#
# Options: --bin PATH (default the release binary), --base PATH (a second binary to
# compare against), --users N (10000), --lookups N (1000), --warmup N (200), --runs N (2),
# --request lookup|get (lookup).
# Needs valgrind, psql, python3, curl. Env: PG_URL, CARGO_TARGET_DIR. Everything listens on
# 127.0.0.1; the database is dropped at the end. Exits non-zero on any failed lookup.
set -euo pipefail
shopt -s inherit_errexit   # measure runs in $(…): a failed lookup must stop the script

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BENCH_DIR="$ROOT/bench"
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scim-bridge/target}"
BIN_NEW="$TARGET_DIR/release/scim-bridge"; BIN_BASE=""
N=10000; LOOKUPS=1000; WARMUP=200; RUNS=2; REQUEST=lookup
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN_NEW="$2"; shift ;;
    --base) BIN_BASE="$2"; shift ;;
    --users) N="$2"; shift ;;
    --lookups) LOOKUPS="$2"; shift ;;
    --warmup) WARMUP="$2"; shift ;;
    --runs) RUNS="$2"; shift ;;
    --request) REQUEST="$2"; shift ;;
    -h|--help) sed -n 2,26p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
case "$REQUEST" in lookup|get) ;; *) echo "--request is lookup or get, not $REQUEST" >&2; exit 2 ;; esac
for b in "$BIN_NEW" ${BIN_BASE:+"$BIN_BASE"}; do
  [ -x "$b" ] || { echo "no binary at $b (build first: cargo build --release --bin scim-bridge)" >&2; exit 1; }
done
for t in valgrind callgrind_control psql python3 curl; do
  command -v "$t" >/dev/null || { echo "$t is required (apt-get install valgrind postgresql-client python3 curl)" >&2; exit 1; }
done

NAME=instr; BIN="$BIN_NEW"
# shellcheck source=bench/scratch.sh
source "$BENCH_DIR/scratch.sh"   # scratch database, token, cleanup, start_bridge
start_bridge migrate 0           # runs the migrations, then makes way for valgrind
kill "$PID_OUT"; wait "$PID_OUT" 2>/dev/null || true
psql "$URL" -qX -v ON_ERROR_STOP=1 -v users="$N" -f "$BENCH_DIR/pgbench/seed.sql" >/dev/null
PORT="$(free_port)"
sed "s/^listen = .*/listen = \"127.0.0.1:$PORT\"/" "$WORK/migrate.toml" >"$WORK/instr.toml"

lookups() { # count seed
  python3 - "$PORT" "$TOKEN" "$N" "$1" "$2" "$REQUEST" <<'PY'
import http.client, random, sys
port, token, users, count, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
by_id = sys.argv[6] == "get"
rng = random.Random(seed)
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(count):
    k = rng.randint(1, users)
    if by_id:
        path, want = f"/scim/v2/contrast/Users/seed-{k}", f'"id":"seed-{k}"'.encode()
    else:
        path, want = f"/scim/v2/contrast/Users?filter=userName%20eq%20%22seed{k}%40example.com%22", b'"totalResults":1'
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or want not in body.replace(b" ", b""):
        sys.exit(f"{path}: {r.status} {body[:200]!r}")
PY
}

# measure binary run -> prints instructions per lookup
measure() {
  local out="$WORK/callgrind.$2.out" vpid
  env -u DATABASE_URL -u RUST_LOG valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$out" "$1" serve --config "$WORK/instr.toml" >"$WORK/valgrind.log" 2>&1 &
  vpid=$!
  # measure runs in a command substitution, a subshell: the script's cleanup does not see
  # this pid, so a failed lookup must not leave the bridge running.
  trap "kill -9 $vpid 2>/dev/null || true" EXIT   # expanded now: vpid is local
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && break
    kill -0 "$vpid" 2>/dev/null || break
    sleep 0.1
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" || { cat "$WORK/valgrind.log" >&2; echo "bridge under valgrind did not start" >&2; exit 1; }
  lookups "$WARMUP" 1
  callgrind_control --instr=on "$vpid" >/dev/null 2>&1
  lookups "$LOOKUPS" 2
  callgrind_control --dump "$vpid" >/dev/null 2>&1
  kill -INT "$vpid"; wait "$vpid" 2>/dev/null || true
  # The dump asked for after the lookups (`$out.1`; the one at exit is `$out`): its totals
  # are what ran while instrumented.
  local total
  total="$(awk '/^totals:/ {print $2; exit}' "$out.1" 2>/dev/null || true)"
  total="${total:-0}"
  rm -f "$out" "$out".*
  [ "$total" -gt 0 ] || { cat "$WORK/valgrind.log" >&2; echo "no instructions counted" >&2; exit 1; }
  awk -v t="$total" -v n="$LOOKUPS" 'BEGIN { printf "%.0f", t / n }'
}

echo "instructions per request (callgrind; $LOOKUPS sequential ${REQUEST}s after $WARMUP, $N users)"
declare -a new_runs base_runs
for r in $(seq 1 "$RUNS"); do
  if [ -n "$BIN_BASE" ]; then
    base_runs+=("$(measure "$BIN_BASE" "base$r")")
    echo "run $r  base  ${base_runs[-1]}  ($BIN_BASE)"
  fi
  new_runs+=("$(measure "$BIN_NEW" "new$r")")
  echo "run $r  bin   ${new_runs[-1]}  ($BIN_NEW)"
done
if [ -n "$BIN_BASE" ]; then
  for i in "${!new_runs[@]}"; do
    awk -v a="${new_runs[$i]}" -v b="${base_runs[$i]}" -v r=$((i + 1)) \
      'BEGIN { printf "run %d  bin / base  %.3f\n", r, a / b }'
  done
fi
