"""Fixtures for the wrapper tests: the built binary, the stand-in server, a clean environment.

PRODUCT.md §8 and §9. Every test talks to real peers: the `anaconda-auth` binary named by
ANACONDA_AUTH_BIN, the Node stand-in for Anaconda Cloud (integration/standin/server.mjs,
started once per session), real curl, real pip, real requests, real Panel. Nothing is
skipped: a missing binary, Node, stand-in or venv fails with how to get it.

Run:  py=$(integration/python/setup.sh | tail -n 1)
      ANACONDA_AUTH_BIN=$PWD/target/debug/anaconda-auth "$py" -m pytest integration/python
"""

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from wrappertest import CLEARED, CLEARED_PREFIXES, SETUP_HINT, STANDIN, VENV, describe, run


# ------------------------------------------------------------------------------------------
# Session: the binary, the venv, the stand-in.


@pytest.fixture(scope="session")
def auth_bin():
    """Absolute path of the anaconda-auth binary under test."""
    value = os.environ.get("ANACONDA_AUTH_BIN")
    if not value:
        pytest.fail(
            "ANACONDA_AUTH_BIN is not set: build the binary with `cargo build` in the repo root, "
            "then run with ANACONDA_AUTH_BIN=$PWD/target/debug/anaconda-auth",
            pytrace=False,
        )
    path = Path(value).resolve()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"ANACONDA_AUTH_BIN={value} is not an executable file: run `cargo build` in the repo root",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def venv():
    """The test venv made by setup.sh (pytest, requests, panel, the wrapper packages)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no test venv at {VENV}: {SETUP_HINT}", pytrace=False)
    return VENV


@pytest.fixture(scope="session")
def venv_python(venv):
    return venv / "bin" / "python"


@pytest.fixture(scope="session")
def session_dir():
    path = Path(tempfile.mkdtemp(prefix="anaconda-auth-wrappers-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pypi_dir(session_dir):
    """The folder the stand-in serves as its auth-required PyPI index."""
    path = session_dir / "pypi"
    path.mkdir()
    return path


class Standin:
    """The running stand-in: where it is, its CA, and its /test helpers."""

    def __init__(self, info, log_path):
        self.port = info["port"]
        self.domain = info["domain"]
        self.ca = info["ca"]
        self.base = f"https://{self.domain}"
        self.log_path = log_path

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON or text) of a request to the stand-in, trusting its CA."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=dict(headers or {}))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        context = ssl.create_default_context(cafile=self.ca)
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def _post(self, path, body):
        status, answer = self.request("POST", path, body)
        assert status == 200, f"POST {path}: {status} {answer}"
        return answer

    def mint_key(self, ttl=3600, email="wrapper-test@example.com"):
        """A fresh API key the stand-in accepts."""
        return self._post("/test/mint-key", {"ttl": ttl, "email": email})["api_key"]

    def mint_repo_token(self, org):
        """A conda repo token valid for /repo/ORG/..."""
        return self._post("/test/mint-repo-token", {"org": org})["token"]

    def log(self):
        try:
            return Path(self.log_path).read_text()[-4000:]
        except OSError:
            return ""


@pytest.fixture(scope="session")
def standin(session_dir, pypi_dir):
    """Start integration/standin/server.mjs once per session (it exits when stdin closes)."""
    node = shutil.which("node")
    if not node:
        pytest.fail(
            "node not found: the stand-in needs Node.js 20+ (apt-get install nodejs npm)",
            pytrace=False,
        )
    server = STANDIN / "server.mjs"
    if not server.exists():
        pytest.fail(f"{server} is missing: the stand-in server is part of the repo", pytrace=False)
    if not (STANDIN / "node_modules").is_dir():
        pytest.fail(
            "the stand-in's npm packages are not installed: run `cd integration/standin && npm ci` "
            "(integration/python/setup.sh does it too)",
            pytrace=False,
        )
    state = session_dir / "standin"
    state.mkdir()
    log_path = session_dir / "standin.log"
    env = {k: v for k, v in os.environ.items() if k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [node, str(server), "--dir", str(state), "--pypi-dir", str(pypi_dir), "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            cwd=STANDIN,
            env=env,
        )
    ready = state / "ready.json"
    deadline = time.monotonic() + 60
    while not ready.exists():
        if process.poll() is not None:
            pytest.fail(f"the stand-in exited with {process.returncode}:\n{log_path.read_text()}", pytrace=False)
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the stand-in did not write {ready} within 60 s:\n{log_path.read_text()}", pytrace=False)
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    yield Standin(info, log_path)
    process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------------------------------
# Per test: a fresh HOME and a cleaned environment.


def clean_env(home, auth_bin):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in CLEARED and not k.upper().startswith(CLEARED_PREFIXES)
    }
    env["HOME"] = str(home)
    env["ANACONDA_AUTH_BIN"] = str(auth_bin)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["LC_ALL"] = "C.UTF-8"
    return env


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home, auth_bin):
    """A cleaned environment with a fresh HOME and ANACONDA_AUTH_BIN set."""
    return clean_env(home, auth_bin)


class Auth:
    """Drive the binary under test with one test's environment."""

    def __init__(self, binary, env):
        self.binary = binary
        self.env = env

    def __call__(self, *args, input=None):
        return run([self.binary, *args], self.env, input=input)

    def store(self, domain, api_key=None, repo_tokens=None, username=None):
        record = {"domain": domain}
        if api_key is not None:
            record["api_key"] = api_key
        if username is not None:
            record["username"] = username
        if repo_tokens is not None:
            record["repo_tokens"] = [{"token": t, "org_name": o} for o, t in repo_tokens.items()]
        result = self("store", input=json.dumps(record))
        assert result.returncode == 0, describe(result)
        return result


@pytest.fixture
def auth(auth_bin, env):
    return Auth(auth_bin, env)


def pytest_report_header(config):
    return [
        f"ANACONDA_AUTH_BIN={os.environ.get('ANACONDA_AUTH_BIN', '(unset)')}",
        f"wrapper venv={VENV} python={sys.executable}",
    ]
