#!/usr/bin/env bash
# Run the parity suite against another torch.
#   bash scripts/compat.sh VERSION     a throwaway venv .venv-compat-VERSION with torch==VERSION,
#                                      the matching torchvision where one imports beside it, and
#                                      the rest of constraints.txt; then the whole suite
#   bash scripts/compat.sh --system    an interpreter that already has torch (PYTHON=..., default
#                                      python3), used as it is: nothing is installed
# Tests whose package is absent (torchvision, hypothesis, the train extra) are deselected by
# their marker and counted in pytest's summary. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,9p "$0" >&2; exit 2; }
version=$1
shift
start=$SECONDS
pip_install() {  # VENV ARGS...: quiet, without the notes about this machine's local indexes
    local venv=$1
    shift
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" \
        2> >(grep -v '^WARNING: Location' >&2)
}
if [ "$version" = --system ]; then
    py=${PYTHON:-python3}
    "$py" -c "import pytest" 2>/dev/null || { echo "$py has no pytest: the suite cannot run there" >&2; exit 2; }
else
    venv=.venv-compat-$version
    py=$venv/bin/python
    if [ ! -x "$py" ]; then
        python3 -m venv "$venv"
        grep -v '^torch==\|^torchvision==' constraints.txt > "$venv/constraints.txt"
        pip_install "$venv" -c "$venv/constraints.txt" \
            "torch==$version" pytest hypothesis expecttest tqdm mlxtend matplotlib threadpoolctl
        pip_install "$venv" --no-deps -e .
        # torchvision 0.N+15 pairs with torch 2.N; keep it only where it imports beside this torch
        minor=$(echo "$version" | cut -d. -f2)
        if pip_install "$venv" --no-deps "torchvision==0.$((minor + 15)).*" 2>/dev/null \
            && ! "$py" -c "import torchvision" 2>/dev/null; then
            echo "torchvision 0.$((minor + 15)) does not import beside torch $version: removed" >&2
            "$venv/bin/pip" uninstall --quiet -y torchvision
        fi
    fi
fi
"$py" - <<'PY'
import importlib, platform
def version(name):
    try:
        return importlib.import_module(name).__version__
    except Exception as exc:
        return f"absent ({type(exc).__name__})"
print("python", platform.python_version(), "|", ", ".join(
    f"{m} {version(m)}" for m in ("torch", "torchvision", "numpy", "scipy", "hypothesis", "pytest")))
PY
set +e
"$py" -m pytest -q -rfE -p no:cacheprovider parity_tests "$@" \
    | grep -E '^(FAILED|ERROR)|passed|failed|deselected|not collected'
status=${PIPESTATUS[0]}
echo "compat $version: pytest exit $status in $((SECONDS - start)) s"
exit "$status"
