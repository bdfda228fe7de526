#!/usr/bin/env bash
# Chart and image check for scim-bridge. Run from anywhere:  bash helm/check.sh
#
#  0. hadolint on the Dockerfile, shellcheck on this script (skipped, with a
#     note, when the linters cannot be installed)
#  1. helm lint --strict: default values and every helm/tests/values-*.yaml
#  2. helm template of every helm/tests/values-*.yaml (values-full.yaml turns
#     every optional feature on); default values alone must be refused with
#     the "needs PostgreSQL" message
#  3. kubernetes-validate --strict of every rendered object, for the oldest
#     Kubernetes the chart supports and a current one; the ServiceMonitor (a
#     CRD, no schema shipped) is checked loosely, field by field
#  4. every helm/tests/bad-values-*.yaml must be refused, for the reason its
#     "# expect:" line names
#
# Real Helm without a helm binary: helm-python-sdk bundles libhelm_c, Helm
# v4's Go SDK behind a C ABI. Tools live in a venv that is reused between
# runs: ${HELM_CHECK_VENV:-$HOME/.cache/scim-bridge/helm-venv}.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${HELM_CHECK_VENV:-$HOME/.cache/scim-bridge/helm-venv}"
PYTHON="${PYTHON:-python3}"
REQ="helm/tests/requirements.txt"
REQ_LINT="helm/tests/requirements-lint.txt"
KUBE_VERSIONS="${HELM_CHECK_KUBE_VERSIONS:-1.25.0,1.36.0}"

say() { printf 'helm-check: %s\n' "$*"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    say "needs Python >= 3.11 (set PYTHON=...)" >&2
    exit 1
fi

# --- venv, created once and reused; reinstalled when the pins change --------
stamp="$VENV/.scim-bridge-requirements"
want="$(cat "$REQ" "$REQ_LINT" | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating venv $VENV"
    mkdir -p "$(dirname "$VENV")"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            say "python venv support missing; installing python3-venv with apt-get"
            apt-get install -y -qq python3-venv >/dev/null
            "$PYTHON" -m venv "$VENV"
        else
            say "cannot create a venv: install python3-venv" >&2
            exit 1
        fi
    fi
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    say "installing pinned tools into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ_LINT"; then
        say "note: optional linters (hadolint, shellcheck) could not be installed; they will be skipped"
    fi
    echo "$want" >"$stamp"
fi

# --- 0. Dockerfile and script linters ---------------------------------------
lint_note=()
if [[ -x "$VENV/bin/hadolint" ]]; then
    "$VENV/bin/hadolint" Dockerfile
    say "ok   hadolint Dockerfile"
    lint_note+=("hadolint clean")
else
    say "SKIPPED hadolint (not installable here): Dockerfile not linted"
    lint_note+=("hadolint skipped")
fi
if [[ -x "$VENV/bin/shellcheck" ]]; then
    "$VENV/bin/shellcheck" helm/check.sh
    say "ok   shellcheck helm/check.sh"
    lint_note+=("shellcheck clean")
else
    say "SKIPPED shellcheck (not installable here)"
    lint_note+=("shellcheck skipped")
fi

# --- 1-4. Helm lint, template, Kubernetes validation, bad values ------------
HELM_CHECK_LINT_NOTE="$(IFS=,; echo "${lint_note[*]}")" "$VENV/bin/python" helm/tests/chart_check.py \
    --chart helm/scim-bridge --tests helm/tests --kube-versions "$KUBE_VERSIONS"
