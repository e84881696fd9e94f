"""Paths and small helpers shared by the wrapper tests and their fixtures (conftest.py)."""

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPTS = REPO / "scripts"
STANDIN = REPO / "integration" / "standin"
VENV = Path(os.environ.get("WRAPPER_VENV_DIR") or HERE / ".venv")
SETUP_HINT = "run integration/python/setup.sh (it creates the venv at ${WRAPPER_VENV_DIR:-integration/python/.venv})"

# Variables that would change what curl, pip, requests, conda or anaconda-auth do, dropped
# from every test's environment before the test sets what it needs.
CLEARED_PREFIXES = ("ANACONDA_", "PIP_", "CONDA", "PANEL_", "BOKEH_", "PYTHON", "VIRTUAL_ENV")
CLEARED = {
    "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
    "all_proxy", "no_proxy", "CI", "NETRC", "CURL_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
    "XDG_DATA_HOME", "DBUS_SESSION_BUS_ADDRESS", "KEYRING_PROPERTY_FILE",
}


def run(cmd, env, input=None, timeout=120, cwd=None):
    """Run a command, text in and out, never raising on a non-zero exit."""
    return subprocess.run(
        [str(c) for c in cmd],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


def describe(result):
    """A failure message with everything a command said."""
    return (
        f"command: {' '.join(map(str, result.args))}\nexit: {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
