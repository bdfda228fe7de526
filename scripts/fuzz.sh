#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer): docs/reliability.md, "Fuzzing".
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]     # default 300 s, all targets
#   scripts/fuzz.sh 20                                  # CI: 20 s each
#   scripts/fuzz.sh 600 filter patch
#
# Builds the targets in fuzz/ (stable Rust with RUSTC_BOOTSTRAP=1 for libFuzzer's flags),
# replays every saved crash in fuzz/regressions/<target>/ (in name order, one process: some
# findings need the inputs before them), then runs each target for the
# given time and prints one FIGURES line per target. Exit 1 if any input crashed, hung
# (-timeout) or ran out of memory (-rss_limit_mb).
#
# Environment:
#   FUZZ_TARGET_DIR  build cache   (default ~/.cache/scim-bridge/fuzz-target)
#   FUZZ_WORK_DIR    corpora, crash artifacts and logs, kept between runs
#                                   (default ~/.cache/scim-bridge/fuzz)
#   FUZZ_SANITIZER   address | none (default address)
#   FUZZ_TIMEOUT     seconds one input may take before it counts as a hang (default 10)
#   FUZZ_RSS_MB      memory limit in MB (default 2048)
#   FUZZ_DATABASE_URL  Postgres admin URL: filter_exec also runs its queries there, in a
#                    schema scimtest_fuzz_<pid> (dropped afterwards; SQLite always runs)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

secs=${1:-300}
[ $# -gt 0 ] && shift
all_targets=(filter filter_exec patch body vendor)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET…]" >&2; exit 2 ;; esac

export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/scim-bridge/fuzz-target}"
work="${FUZZ_WORK_DIR:-$HOME/.cache/scim-bridge/fuzz}"
sanitizer="${FUZZ_SANITIZER:-address}"
timeout_s="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never CARGO_INCREMENTAL=0
mkdir -p "$CARGO_TARGET_DIR" "$work"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

echo "=== building fuzz targets (sanitizer: $sanitizer, cache $CARGO_TARGET_DIR)"
build_log="$work/logs/build.log"
mkdir -p "$work/logs"
build() { cargo fuzz build --fuzz-dir fuzz -s "$sanitizer" --codegen-units 16 "$@" >>"$build_log" 2>&1; }
: >"$build_log"
ok=1
if [ ${#targets[@]} -eq ${#all_targets[@]} ]; then
  build || ok=0
else
  # `cargo fuzz build` takes one target or all of them.
  for t in "${targets[@]}"; do build "$t" || ok=0; done
fi
if [ "$ok" != 1 ]; then
  tail -40 "$build_log" >&2
  echo "fuzz: build failed (log: $build_log)" >&2
  exit 1
fi
bin_dir="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

dict_for() { case "$1" in filter*) echo "$root/fuzz/dict/filter.dict" ;; *) echo "$root/fuzz/dict/json.dict" ;; esac; }

# filter_exec's databases: a SQLite file per process in $TMPDIR, a Postgres schema each.
cleanup() {
  rm -f "${TMPDIR:-/tmp}"/scim-bridge-fuzz-*.db "${TMPDIR:-/tmp}"/scim-bridge-fuzz-*.db-*
  if [ -n "${FUZZ_DATABASE_URL:-}" ] && command -v psql >/dev/null 2>&1; then
    psql "$FUZZ_DATABASE_URL" -Atc \
      "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scimtest\_fuzz\_%'" 2>/dev/null \
      | while read -r ns; do
          psql "$FUZZ_DATABASE_URL" -qc "DROP SCHEMA IF EXISTS \"$ns\" CASCADE" >/dev/null 2>&1 || true
        done
  fi
}
trap cleanup EXIT

failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$bin_dir/$t"
  [ -x "$bin" ] || { echo "no fuzz target binary $bin (targets: ${all_targets[*]})" >&2; exit 2; }
  corpus="$work/corpus/$t"
  artifacts="$work/artifacts/$t"
  log="$work/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$work/logs"
  flags=(-timeout="$timeout_s" -rss_limit_mb="$rss_mb" -artifact_prefix="$artifacts/"
         -dict="$(dict_for "$t")")

  regs=("$root/fuzz/regressions/$t"/*)
  if [ -e "${regs[0]}" ]; then
    echo "=== $t: replaying ${#regs[@]} saved crash input(s) from fuzz/regressions/$t"
    if ! "$bin" "${flags[@]}" -runs=1 "${regs[@]}" >"$work/logs/$t.regressions.log" 2>&1; then
      echo "REGRESSION: fuzz/regressions/$t fails again; log: $work/logs/$t.regressions.log" >&2
      tail -30 "$work/logs/$t.regressions.log" >&2
      failed=1
      continue
    fi
  fi

  echo "=== $t: fuzzing for ${secs}s (corpus $corpus)"
  before=$(find "$artifacts" -type f | sort)
  rc=0
  "$bin" "${flags[@]}" -max_total_time="$secs" -print_final_stats=1 -report_slow_units=1 \
    "$corpus" "$root/fuzz/seeds/$t" >"$log" 2>&1 || rc=$?
  # A slow unit (-report_slow_units=1: one input took ≥ 1 s, e.g. the first one, which
  # creates and migrates its database) is a figure, not a failure; hangs fail via -timeout.
  new_artifacts=$(comm -13 <(echo "$before") <(find "$artifacts" -type f | sort) | sed '/^$/d' \
    | grep -v '/slow-unit-' || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  slowest=$(sed -n 's/.*Slowest unit: \([0-9]*\) s.*/\1/p' "$log" | sort -n | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
  size=$(find "$corpus" -type f | wc -l)
  crashes=$(printf '%s' "$new_artifacts" | grep -c . || true)
  line="FIGURES fuzz $t: seconds=$secs runs=${runs:-?} exec/s=${eps:-?} corpus=$size cov=${cov:-?} peak_rss_mb=${rss:-?} slowest_unit_s=${slowest:-0} crashes=$crashes exit=$rc"
  echo "$line"
  summary+=("$line")
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    failed=1
    echo "CRASH in $t (exit $rc); log: $log; inputs:" >&2
    printf '%s\n' "$new_artifacts" | sed 's/^/  /' >&2
    grep -E -m5 -A12 'panicked|ERROR: libFuzzer|SUMMARY' "$log" >&2 || true
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ "$failed" != 0 ]; then
  echo "fuzz: FAILED (fix the code, then copy the input into fuzz/regressions/<target>/)" >&2
  exit 1
fi
echo "fuzz: no crash"
