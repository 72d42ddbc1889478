#!/usr/bin/env bash
# One entry point for the README's commands.
#   bash scripts/dev.sh report [ARGS]   set up .venv if needed, then run the parity report
#   bash scripts/dev.sh test   [ARGS]   set up .venv if needed, then ruff + the whole test suite
#   bash scripts/dev.sh docs   [ARGS]   set up .venv-docs (numpy, scipy, Sphinx: no torch) if
#                                       needed, then build the documentation site, build/docs/html
# Set-up is idempotent: it reinstalls only when pyproject.toml or constraints.txt changed since
# the last install. constraints.txt is the exact tested set (pyproject.toml keeps ranges).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
cmd=${1:-test}
shift || true
setup() {  # VENV EXTRAS: create VENV and install ref_cnn[EXTRAS] into it, unless up to date
    local venv=$1 extras=$2 stamp=$1/.installed-from want
    if [ ! -x "$venv/bin/python" ]; then
        "$PY" -m venv "$venv"
    fi
    want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            -c constraints.txt -e ".[$extras]"
        echo "$want" > "$stamp"
    fi
}
if [ "$cmd" = docs ]; then
    setup .venv-docs docs
    exec .venv-docs/bin/python scripts/docs_site.py "$@"
fi
VENV=.venv
setup "$VENV" dev
# The HTML report test needs Debian's chromium and one data test uses Debian's Fashion-MNIST;
# install them where we can (root with apt), otherwise those tests skip and say why.
if [ "$cmd" = test ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=""
    command -v chromium >/dev/null || missing="$missing chromium"
    [ -d /usr/share/datasets/fashion-mnist ] || missing="$missing dataset-fashion-mnist"
    if [ -n "$missing" ]; then
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >/dev/null 2>&1 \
            || echo "note: could not install$missing; the tests that need them will skip" >&2
    fi
fi
case "$cmd" in
    report) exec "$VENV/bin/python" scripts/parity_report.py "$@" ;;
    test)
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *) echo "usage: bash scripts/dev.sh {report|test|docs} [ARGS]" >&2; exit 2 ;;
esac
