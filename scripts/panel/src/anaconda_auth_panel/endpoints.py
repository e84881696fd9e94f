"""Where the Anaconda Cloud OAuth endpoints are, for the configured domain (no Panel import).

Order: explicit URLs in Panel's `oauth_extra_params`; the OpenID discovery document of the
domain (fetched once per process, on first use); URLs built from the domain.
The settings come from `anaconda-auth config --json` (PRODUCT.md §5), so the provider follows
the same env / .env / config.toml precedence as the binary.
"""

import json
import logging
import os
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.request

log = logging.getLogger(__name__)

DEFAULTS = {
    "domain": "anaconda.cloud",
    "openid_config_path": "api/auth/oauth2/.well-known/openid-configuration",
    "ssl_verify": True,
    "client_id": "b4ad7f1d-c784-46b5-a9fe-106e50441f5a",
}
DISCOVERY_TIMEOUT = 5.0
WELL_KNOWN_SUFFIX = ".well-known/openid-configuration"

_lock = threading.Lock()
_settings = None
_discovered = {}


def _from_env():
    """The settings from ANACONDA_CLOUD_* variables and defaults (no binary at hand)."""
    env = {name.upper(): value for name, value in os.environ.items()}
    found = dict(DEFAULTS)
    for key in DEFAULTS:
        value = env.get(f"ANACONDA_CLOUD_{key.upper()}")
        if value is not None:
            found[key] = value
    verify = found["ssl_verify"]
    if isinstance(verify, str) and verify.strip().lower() in ("false", "0", "no", "off"):
        found["ssl_verify"] = False
    elif isinstance(verify, str) and verify.strip().lower() in ("true", "1", "yes", "on"):
        found["ssl_verify"] = True
    return found


def _from_binary(binary):
    result = subprocess.run(
        [binary, "config", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(message or f"{binary} config --json exited {result.returncode}")
    data = json.loads(result.stdout.decode("utf-8"))
    found = dict(DEFAULTS)
    for key in DEFAULTS:
        entry = data.get(key)
        if isinstance(entry, dict) and entry.get("value") is not None:
            found[key] = entry["value"]
    return found


def settings():
    """domain, openid_config_path, ssl_verify and client_id, read once per process."""
    global _settings
    with _lock:
        if _settings is None:
            binary = os.environ.get("ANACONDA_AUTH_BIN") or shutil.which("anaconda-auth")
            if binary:
                try:
                    _settings = _from_binary(binary)
                except (OSError, ValueError, RuntimeError, subprocess.TimeoutExpired) as exc:
                    # A bad config value is the user's to fix: say so, and use the env.
                    log.warning("anaconda-auth config failed (%s); using ANACONDA_CLOUD_* variables", exc)
                    _settings = _from_env()
            else:
                log.warning("anaconda-auth not found (set ANACONDA_AUTH_BIN); using ANACONDA_CLOUD_* variables")
                _settings = _from_env()
        return dict(_settings)


def _ssl_context(verify):
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, str) and verify not in ("", "true"):
        return ssl.create_default_context(cafile=verify)
    return ssl.create_default_context()


def discovery_url(domain, openid_config_path):
    return f"https://{domain}/{openid_config_path.lstrip('/')}"


def _discover(domain, openid_config_path, verify):
    """The discovery document, or None when it cannot be had (cached either way)."""
    key = (domain, openid_config_path)
    if key in _discovered:
        return _discovered[key]
    url = discovery_url(domain, openid_config_path)
    document = None
    try:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=DISCOVERY_TIMEOUT, context=_ssl_context(verify)) as response:
            document = json.loads(response.read().decode("utf-8"))
        if not isinstance(document, dict) or "authorization_endpoint" not in document:
            log.warning("%s is not an OpenID discovery document; building endpoints from the domain", url)
            document = None
    except (OSError, ValueError, urllib.error.URLError) as exc:
        log.warning("OpenID discovery at %s failed (%s); building endpoints from the domain", url, exc)
    _discovered[key] = document
    return document


def built_from_domain(domain, openid_config_path):
    """Endpoints next to the discovery document: `https://DOMAIN/api/auth/oauth2/...`."""
    path = openid_config_path.strip("/")
    if path.endswith(WELL_KNOWN_SUFFIX):
        path = path[: -len(WELL_KNOWN_SUFFIX)]
    base = f"https://{domain}/{path.strip('/')}/" if path.strip("/") else f"https://{domain}/"
    return {
        "authorize": base + "auth",
        "token": base + "token",
        "userinfo": base + "userinfo",
        "logout": "",
        "source": "domain",
    }


def resolve(extra_params=None):
    """The endpoint URLs: keys authorize, token, userinfo, logout, source."""
    extra = dict(extra_params or {})
    current = settings()
    domain = extra.get("auth-domain") or current["domain"]
    path = current["openid_config_path"]
    with _lock:
        document = _discover(domain, path, current["ssl_verify"])
    if document is not None:
        found = {
            "authorize": document["authorization_endpoint"],
            "token": document.get("token_endpoint", ""),
            "userinfo": document.get("userinfo_endpoint", ""),
            "logout": document.get("end_session_endpoint", ""),
            "source": "discovery",
        }
    else:
        found = built_from_domain(domain, path)
    for name, key in (("authorize", "AUTHORIZE_URL"), ("token", "TOKEN_URL"),
                      ("userinfo", "USER_URL"), ("logout", "LOGOUT_URL")):
        if extra.get(key):
            found[name] = extra[key]
            found["source"] = "oauth_extra_params"
    return found


def reset():
    """Forget the cached settings and discovery documents."""
    global _settings
    with _lock:
        _settings = None
        _discovered.clear()
