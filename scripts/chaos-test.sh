#!/usr/bin/env bash
# Vendor chaos test: the Contrast and Carbon Black simulators (separate processes) misbehave
# one way per phase -- 30% 5xx, a 429 storm (with and without Retry-After), timeouts, slow
# bodies, connection resets, malformed JSON, all mixed, then a full outage -- while an IdP
# writes through the bridge. After each phase the faults stop and the script checks:
# convergence (and how long it took), nothing lost, no duplicate vendor account, every
# failure recorded with its reason, retries bounded by max_attempts (jobs that gave up are
# `failed` and come back with `sync retry`), no worker stuck (no overdue lease, the queue
# drains, a new user is synced at once). One `FIGURES chaos-test:` line per phase.
#
#   scripts/chaos-test.sh --short      # CI form, ~2-3 minutes
#   scripts/chaos-test.sh              # long form, more users and 40 s fault windows
#   scripts/chaos-test.sh --seed 42    # reproduce a run (fault draws, names, operations)
#   scripts/chaos-test.sh --phase resets --phase malformed-json
#
# Needs: cargo, python3, psql and a Postgres at $PG_ADMIN_URL
# (default postgres://postgres@127.0.0.1:5432/postgres). Loopback only; a fresh database
# `chaos_*` is created and dropped; every process started is killed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --bin scim-bridge
exec python3 scripts/chaos_test.py "$@"
