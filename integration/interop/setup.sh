#!/bin/sh
# Creates the venv with the real Python package for the storage interoperability tests
# (integration/e2e/storage_python.rs), from PyPI:
#
#   integration/interop/setup.sh DIR     # venv at DIR; prints DIR/bin/python as its last line
#
# Safe to run again: an existing venv that already has the pinned versions is reused.
set -eu

venv=${1:?usage: setup.sh VENV_DIR}
python=${PYTHON:-python3}
pins="anaconda-cloud-auth==0.7.2 anaconda-cli-base==0.4.1"

# The machine presets a local wheel folder and index settings: take the pins from PyPI.
unset PIP_FIND_LINKS PIP_NO_INDEX PIP_INDEX_URL PIP_EXTRA_INDEX_URL 2>/dev/null || true

if ! "$python" -m venv --help >/dev/null 2>&1; then
    echo "setup.sh: $python has no venv module: apt-get install python3 python3-venv (scripts/setup test does it)" >&2
    exit 1
fi
stamp=$venv/.anaconda-auth-interop
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$pins" ]; then
    rm -rf "$venv"
    echo "setup.sh: creating $venv with $pins" >&2
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pins >&2
    echo "$pins" >"$stamp"
fi
echo "$venv/bin/python"
