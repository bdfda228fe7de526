# Sourced by bench/replicas.sh, bench/floor.sh and bench/user_writes.sh (not run on its
# own): a scratch Postgres database, a bearer token and a work directory, all removed on
# exit with every process in PIDS; start_bridge, a bridge on that database with workers
# off; CPU tick counters; and run_wrk_cpu, a wrk run with its CPU per request.
# In: NAME (for names), N (seeded users, for the wrk scripts), BIN (the release binary).
# Out: PG_URL DB URL WORK TOKEN TOKEN_SHA PIDS; BENCH_TOKEN BENCH_TARGET BENCH_USERS exported.
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
DB="scim_${NAME}_$$"
URL="$PG_URL/$DB?sslmode=${PG_SSLMODE:-prefer}"
WORK="$(mktemp -d "/tmp/scim-$NAME.XXXXXX")"
TOKEN="$NAME-token-$$-$RANDOM$RANDOM"
TOKEN_SHA="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
export BENCH_TOKEN="$TOKEN" BENCH_TARGET=contrast BENCH_USERS="$N"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
psql "$PG_URL/postgres" -qAtc "CREATE DATABASE $DB" >/dev/null

# start_bridge name threads(0 = tokio's default) -> sets URL_OUT and PID_OUT once /readyz
# answers (the first one run has applied the migrations). Its database is URL, or
# BRIDGE_DB_URL when set (a SQLite file). Not in a subshell: PIDS must see the pid.
start_bridge() {
  local port; port="$(free_port)"
  cat >"$WORK/$1.toml" <<EOT
listen = "127.0.0.1:$port"
database_url = "${BRIDGE_DB_URL:-$URL}"
[sync]
enabled = false
[targets.contrast]
kind = "contrast"
token_sha256 = ["$TOKEN_SHA"]
base_url = "http://127.0.0.1:9/Contrast/api/ng"
org_uuid = "00000000-0000-0000-0000-0000000000aa"
username = "bridge@example.com"
service_key = "svc-key"
api_key = "api-key"
EOT
  local threads=(); [ "$2" != 0 ] && threads=(TOKIO_WORKER_THREADS="$2")
  env -u DATABASE_URL -u RUST_LOG "${threads[@]}" "$BIN" serve --config "$WORK/$1.toml" >"$WORK/$1.log" 2>&1 &
  PID_OUT=$!; PIDS+=("$PID_OUT")
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && { URL_OUT="http://127.0.0.1:$port"; return; }
    sleep 0.05
  done
  cat "$WORK/$1.log" >&2; echo "bridge $1 did not start" >&2; exit 1
}

HZ="$(getconf CLK_TCK)"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Every postgres process's CPU, plus what the postmaster collected from ended backends.
pg_ticks() {
  ps -C postgres -o pid=,ppid= | awk '
    { pid[$1] = 1; parent[$1] = $2 }
    END { for (p in pid) { f = "/proc/" p "/stat"
            if ((getline line < f) > 0) { split(line, s, " "); t += s[14] + s[15]
              if (!(parent[p] in pid)) t += s[16] + s[17] }
            close(f) }
          print t + 0 }'
}
us_per() { awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN{ if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# run_wrk_cpu script url pid conc -> "req/s p99-ms server-us/req postgres-us/req" for
# bench/wrk/<script> against the server at url with process pid, for D seconds (nothing
# when a request failed: it runs in a subshell, so the caller checks).
run_wrk_cpu() {
  local out="$WORK/wrk.out" t=2 s0 p0 s1 p1 n
  [ "$4" -lt 2 ] && t=1
  s0="$(ticks "$3")"; p0="$(pg_ticks)"
  BENCH_RUN="r$$-$RANDOM" wrk -t"$t" -c"$4" -d"${D}s" --timeout 10s --latency \
    -s "$BENCH_DIR/wrk/$1" "$2" >"$out" 2>&1 || true
  s1="$(ticks "$3")"; p1="$(pg_ticks)"
  if grep -q "Non-2xx\|Socket errors" "$out" || ! grep -q '^Requests/sec' "$out"; then
    echo "failed requests against $2:" >&2; cat "$out" >&2; return
  fi
  n="$(awk '/requests in/ {print $1}' "$out")"
  echo "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out") $(awk '$1 == "99%" {print $2}' "$out" | to_ms) \
$(us_per $((s1 - s0)) "$n") $(us_per $((p1 - p0)) "$n")"
}
# wrk's "1.23ms" / "850.00us" / "1.02s" -> milliseconds
to_ms() { awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[^m]s$/) v *= 1000; printf "%.2f", v }'; }
