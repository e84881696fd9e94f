"""The conda channel auth handler: asks anaconda-auth for each request's Authorization header.

PRODUCT.md §3 and §8. The binary answers from local state only (no network), with the
org's repo token (`token REPO_TOKEN`) for `/repo/ORG/...` URLs, else the host's first repo
token or API key (`Bearer KEY`). Answers are cached per process by scheme, host and org, so a conda
run that fetches many files from one channel asks once.
"""

import json
import os
import shutil
import subprocess
import threading
from urllib.parse import urlsplit, urlunsplit

from ._compat import ChannelAuthBase, CondaError

#: Handler names registered with conda. `anaconda-cloud-auth` is the name used by the
#: Python package this replaces, so existing `.condarc` files keep working.
HANDLER_NAMES = ("anaconda-auth", "anaconda-cloud-auth")

#: Exit code of `anaconda-auth get` when nothing is stored for the host.
EXIT_LOGIN_REQUIRED = 3

LOGIN_HINT = (
    "run `anaconda-auth login` (or store a repo token with `anaconda-auth store`); "
    "in CI set ANACONDA_CLOUD_API_KEY"
)


class AnacondaAuthError(CondaError):
    """A channel refused us, or anaconda-auth could not answer; conda shows the message."""


_cache = {}
_lock = threading.Lock()


def _cache_key(url):
    """(scheme, host[:port] lowercased, org or None): what decides which credential answers.

    The scheme counts: the binary answers https URLs only, so an answer for https must not
    be reused for http on the same host.
    """
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1].lower()
    org = None
    if parts.path.startswith("/repo/"):
        org = parts.path[len("/repo/"):].split("/", 1)[0] or None
    return parts.scheme.lower(), host, org


def _binary():
    configured = os.environ.get("ANACONDA_AUTH_BIN")
    if configured:
        return configured
    found = shutil.which("anaconda-auth")
    if not found:
        raise AnacondaAuthError(
            "anaconda-auth not found: install it and put it on PATH, or set ANACONDA_AUTH_BIN"
        )
    return found


def _ask(url):
    """The Authorization header value for a URL, or None when nothing is stored for its host."""
    parts = urlsplit(url)
    # The user part, query and fragment play no role in the answer; drop them.
    uri = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
    request = json.dumps({"uri": uri, "interactive": False})
    binary = _binary()
    try:
        # JSON on stdin rather than `--uri` keeps channel URLs (which can hold legacy
        # /t/TOKEN/ parts) off the command line.
        result = subprocess.run(
            [binary, "get"],
            input=request.encode("utf-8"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    except OSError as exc:
        raise AnacondaAuthError(f"cannot run {binary}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise AnacondaAuthError(f"{binary} get did not answer within 60 s") from None
    if result.returncode == EXIT_LOGIN_REQUIRED:
        return None
    message = result.stderr.decode("utf-8", "replace").strip()
    if result.returncode != 0:
        raise AnacondaAuthError(
            message or f"{binary} get failed with exit code {result.returncode}"
        )
    try:
        answer = json.loads(result.stdout.decode("utf-8"))
        values = answer["headers"]["Authorization"]
        value = values[0] if isinstance(values, list) else values
    except (ValueError, KeyError, IndexError, TypeError):
        raise AnacondaAuthError(f"{binary} get gave an answer without headers.Authorization") from None
    if not isinstance(value, str) or not value or "\n" in value or "\r" in value:
        raise AnacondaAuthError(f"{binary} get gave an unusable Authorization value")
    return value


def authorization_for(url):
    """The cached Authorization header value for a URL (None: send none)."""
    key = _cache_key(url)
    with _lock:
        if key not in _cache:
            _cache[key] = _ask(url)
        return _cache[key]


def clear_cache():
    """Forget every cached answer (for long-running processes and tests)."""
    with _lock:
        _cache.clear()


class AnacondaAuthHandler(ChannelAuthBase):
    """`requests` auth for conda channels, with credentials from the anaconda-auth binary.

    Construct with the channel name, as conda does: `AnacondaAuthHandler("https://...")`.
    """

    def __call__(self, request):
        value = authorization_for(request.url)
        if value is not None:
            request.headers["Authorization"] = value
        request.register_hook("response", self._check_response)
        return request

    def _check_response(self, response, **_kwargs):
        """Turn a 401/403 into an error that says how to log in."""
        if response.status_code not in (401, 403):
            return response
        _scheme, host, _org = _cache_key(response.url or response.request.url)
        channel = getattr(self, "channel_name", None) or host
        sent = "Authorization" in response.request.headers
        if sent:
            problem = f"the credentials stored for {host} were refused ({response.status_code})"
        else:
            problem = f"no credentials are stored for {host} ({response.status_code})"
        raise AnacondaAuthError(f"channel {channel}: {problem}: {LOGIN_HINT}")
