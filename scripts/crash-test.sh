#!/usr/bin/env bash
# Crash test: SCIM creates / PATCH updates / deactivations against two vendor simulators
# (separate processes) while the bridge is `kill -9`ed 5 times at random moments and
# restarted on the same Postgres database. Afterwards: every acknowledged write is in the
# database, every vendor reached its desired state, zero duplicate vendor accounts.
#
#   scripts/crash-test.sh --short      # CI form, ~60 s of load
#   scripts/crash-test.sh              # long form, 300 s of load, 8 workers
#   scripts/crash-test.sh --seed 42    # reproduce a run (kill times, fault draws)
#   scripts/crash-test.sh --rate 0     # unpaced writers (default: 80 writes/s in all)
#
# Needs: cargo, python3, psql and a Postgres at $PG_ADMIN_URL
# (default postgres://postgres@127.0.0.1:5432/postgres). Loopback only; a fresh database
# `crash_*` is created and dropped; every process started is killed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --bin scim-bridge
exec python3 scripts/crash_test.py "$@"
