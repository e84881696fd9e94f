#!/bin/sh
# Create the Python environment for the wrapper tests (integration/python/).
#
#   integration/python/setup.sh            # venv at ${WRAPPER_VENV_DIR:-integration/python/.venv}
#   "$VENV/bin/python" -m pytest integration/python
#
# Installs requirements.txt (pytest, requests, panel, ...) into the venv, then the wrapper
# packages scripts/conda and scripts/panel (reinstalled every run, so the tests see the
# current source). Re-running reuses the venv: only what changed is installed.
# Also installs the stand-in's npm packages when integration/standin/ has them declared
# and they are missing.
# Prints the venv's python as its last line.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${WRAPPER_VENV_DIR:-$here/.venv}
python=${PYTHON:-python3}

# The machine presets these to its own CA bundle and a local wheel folder: the venv must be
# built from PyPI with the normal CA store.
unset PIP_FIND_LINKS PIP_NO_INDEX PIP_INDEX_URL PIP_EXTRA_INDEX_URL 2>/dev/null || true

if [ ! -x "$venv/bin/python" ]; then
    echo "setup.sh: creating $venv" >&2
    "$python" -m venv "$venv"
fi
vpy=$venv/bin/python
"$vpy" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
# Built from a temporary copy, so no build/ or *.egg-info is left in scripts/ (and no stale
# build/ from an earlier run ends up in the wheel). No build isolation: setuptools is in the
# venv already, so this needs no extra download.
build=$(mktemp -d "${TMPDIR:-/tmp}/anaconda-auth-wrappers.XXXXXX")
trap 'rm -rf "$build"' EXIT
for pkg in conda panel; do
    mkdir "$build/$pkg"
    cp "$repo/scripts/$pkg/pyproject.toml" "$repo/scripts/$pkg/README.md" "$build/$pkg/"
    cp -R "$repo/scripts/$pkg/src" "$build/$pkg/src"
    find "$build/$pkg" \( -name '*.egg-info' -o -name __pycache__ \) -prune -exec rm -rf {} +
done
"$vpy" -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps \
    --force-reinstall "$build/conda" "$build/panel"

# Extra pips for the keyring protocol tests: pip <= 26.1 asks `keyring get URL USER`,
# pip >= 26.2 `keyring --mode=creds --output=json get URL [USER]` (PRODUCT.md §8).
make_pip_venv() {
    dir=$venv/pips/$1
    spec=$2
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
}
make_pip_venv old 'pip==23.2.1'
make_pip_venv new 'pip>=26.2'

if [ -f "$repo/integration/standin/package.json" ] && [ ! -d "$repo/integration/standin/node_modules" ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "setup.sh: npm ci in integration/standin" >&2
        (cd "$repo/integration/standin" && npm ci --no-audit --no-fund >&2)
    else
        echo "setup.sh: npm not found; the stand-in needs Node.js 20+ and npm (apt-get install nodejs npm)" >&2
        exit 1
    fi
fi

echo "$vpy"
