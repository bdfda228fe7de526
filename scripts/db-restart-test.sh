#!/usr/bin/env bash
# Database faults: Postgres is stopped (`pg_ctl stop -m fast`) and started again while the
# bridge takes SCIM writes. Asserts: /readyz goes 503 then 200; writes during the outage get
# 503 with a SCIM error body (never 500, never a hang); every 2xx write is in the database
# afterwards; the bridge process was not restarted.
#
#   scripts/db-restart-test.sh [--outage SECONDS]
#
# Runs its own throw-away cluster (initdb into a temp dir, a free port, loopback only) with
# the binaries under /usr/lib/postgresql/*/bin; the shared server on 5432 is never touched.
# As root, initdb and pg_ctl run as the `postgres` user (runuser).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --bin scim-bridge
exec python3 scripts/db_restart_test.py "$@"
