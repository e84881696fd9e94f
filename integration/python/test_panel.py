"""The Panel OAuth provider (scripts/panel) with the real Panel (PRODUCT.md §8).

The provider is loaded through Panel's own `panel.auth` entry point loop; its endpoints must
follow the domain anaconda-auth is configured for (`ANACONDA_CLOUD_DOMAIN` here): from the
stand-in's OpenID discovery document when it answers, built from the domain when not. A real
`panel serve` then logs a user in through the stand-in's real OpenID provider.
"""

import json
import re
import socket
import subprocess
import textwrap
import time
import urllib.parse

import pytest

from wrappertest import describe, run

ENDPOINTS = textwrap.dedent(
    """
    import json
    import panel.auth
    from anaconda_auth_panel import AnacondaCloudLoginHandler, endpoints
    handler = panel.auth.AUTH_PROVIDERS["anaconda_cloud"]
    print(json.dumps({
        "same_class": handler is AnacondaCloudLoginHandler,
        "endpoints": endpoints.resolve({}),
        "settings": endpoints.settings(),
    }))
    """
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def endpoints_for(venv_python, env):
    result = run([venv_python, "-c", ENDPOINTS], env, timeout=120)
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_entry_point_is_registered(venv_python, env):
    # The distribution declares panel.auth:anaconda_cloud, and it loads.
    code = (
        "from importlib.metadata import entry_points\n"
        "eps = entry_points()\n"
        "group = eps.select(group='panel.auth') if hasattr(eps, 'select') else eps['panel.auth']\n"
        "(ep,) = [e for e in group if e.name == 'anaconda_cloud']\n"
        "print(ep.value, ep.load().__name__)\n"
    )
    result = run([venv_python, "-c", code], env)
    assert result.returncode == 0, describe(result)
    assert result.stdout.split() == ["anaconda_auth_panel:AnacondaCloudLoginHandler", "AnacondaCloudLoginHandler"]


def test_endpoints_follow_discovery_of_configured_domain(venv_python, env, standin):
    # ANACONDA_CLOUD_DOMAIN names the stand-in: its discovery document gives the URLs.
    status, document = standin.request("GET", "/api/auth/oauth2/.well-known/openid-configuration")
    assert status == 200, document
    env = {**env, "ANACONDA_CLOUD_DOMAIN": standin.domain, "ANACONDA_CLOUD_SSL_VERIFY": standin.ca}
    out = endpoints_for(venv_python, env)
    assert out["same_class"] is True
    assert out["settings"]["domain"] == standin.domain
    found = out["endpoints"]
    assert found["source"] == "discovery", out
    assert found["authorize"] == document["authorization_endpoint"]
    assert found["token"] == document["token_endpoint"]
    assert found["userinfo"] == document.get("userinfo_endpoint", "")
    assert found["authorize"].startswith(f"https://{standin.domain}/")


def test_endpoints_built_from_unreachable_domain(venv_python, env):
    # A custom domain whose discovery cannot be reached: URLs are built from the domain.
    domain = f"127.0.0.1:{free_port()}"
    out = endpoints_for(venv_python, {**env, "ANACONDA_CLOUD_DOMAIN": domain})
    found = out["endpoints"]
    assert found["source"] == "domain", out
    assert found["authorize"] == f"https://{domain}/api/auth/oauth2/auth"
    assert found["token"] == f"https://{domain}/api/auth/oauth2/token"
    assert found["userinfo"] == f"https://{domain}/api/auth/oauth2/userinfo"


def test_custom_openid_config_path(venv_python, env):
    # openid_config_path moves the built URLs along with it.
    domain = f"127.0.0.1:{free_port()}"
    out = endpoints_for(venv_python, {**env, "ANACONDA_CLOUD_DOMAIN": domain,
                                      "ANACONDA_CLOUD_OPENID_CONFIG_PATH": "sso/.well-known/openid-configuration"})
    assert out["endpoints"]["authorize"] == f"https://{domain}/sso/auth", out


@pytest.fixture
def panel_server(venv, env, standin, tmp_path):
    """A real `panel serve --oauth-provider anaconda_cloud` configured for the stand-in.

    The login endpoint is /auth/oidc so the redirect URI matches the stand-in's registered
    loopback redirect (any port, RFC 8252 §7.3).
    """
    app = tmp_path / "app.py"
    app.write_text("import panel as pn\npn.panel('hello from panel').servable()\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**env, "ANACONDA_CLOUD_DOMAIN": standin.domain, "ANACONDA_CLOUD_SSL_VERIFY": standin.ca}
    log = tmp_path / "panel.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [venv / "bin" / "panel", "serve", app, "--port", str(port), "--address", "127.0.0.1",
             "--allow-websocket-origin", f"127.0.0.1:{port}", "--oauth-provider", "anaconda_cloud",
             "--cookie-secret", COOKIE_SECRET, "--login-endpoint", "/auth/oidc",
             "--oauth-redirect-uri", f"{base}/auth/oidc"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"panel serve exited {server.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"panel serve did not start within 90 s:\n{log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        yield base, log
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


COOKIE_SECRET = "wrapper-test-cookie-secret-0123456789"


def test_panel_serve_login_redirects_to_discovered_endpoint(panel_server, standin):
    # /auth/oidc redirects to the stand-in's authorization endpoint, PKCE and client id included.
    import requests

    base, log = panel_server
    response = requests.get(f"{base}/auth/oidc", allow_redirects=False, timeout=30)
    assert response.status_code == 302, log.read_text()
    location = response.headers["Location"]
    status, document = standin.request("GET", "/api/auth/oauth2/.well-known/openid-configuration")
    assert status == 200
    url = urllib.parse.urlsplit(location)
    query = urllib.parse.parse_qs(url.query)
    assert urllib.parse.urlunsplit((url.scheme, url.netloc, url.path, "", "")) == document["authorization_endpoint"]
    assert query["client_id"] == ["b4ad7f1d-c784-46b5-a9fe-106e50441f5a"]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{base}/auth/oidc"]
    assert set(query["scope"][0].split()) >= {"openid", "email", "profile"}


def test_panel_login_completes_against_standin(panel_server, standin):
    # The whole login: Panel -> the stand-in's OpenID provider (its login and consent forms)
    # -> back to Panel, which exchanges the code at the token endpoint (trusting the CA that
    # ANACONDA_CLOUD_SSL_VERIFY names), reads the user info and lets the user in.
    import requests
    from tornado.web import decode_signed_value

    base, log = panel_server
    email = "panel-user@example.com"
    session = requests.Session()
    response = session.get(f"{base}/auth/oidc", allow_redirects=False, timeout=30)
    assert response.status_code == 302, log.read_text()
    url = response.headers["Location"]
    for _step in range(12):
        if url.startswith(base):
            break
        response = session.get(url, verify=standin.ca, allow_redirects=False, timeout=30)
        if response.status_code in (302, 303):
            url = urllib.parse.urljoin(url, response.headers["Location"])
            continue
        assert response.status_code == 200, response.text[:2000]
        html = response.text
        action = re.search(r'<form[^>]*action="([^"]+)"', html).group(1)
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
        if 'name="login"' in html:
            fields.update(login=email, password="any")
        response = session.post(urllib.parse.urljoin(url, action), data=fields, verify=standin.ca,
                                allow_redirects=False, timeout=30)
        assert response.status_code in (302, 303), response.text[:2000]
        url = urllib.parse.urljoin(url, response.headers["Location"])
    assert url.startswith(f"{base}/auth/oidc?"), url
    assert "code=" in url
    response = session.get(url, allow_redirects=False, timeout=60)
    assert response.status_code == 302, f"{response.status_code} {response.text[:2000]}\n{log.read_text()}"
    user = session.cookies.get("user", domain="127.0.0.1")
    assert user, f"no user cookie: {session.cookies.keys()}\n{log.read_text()}"
    # Tornado quotes signed cookie values (they hold "|").
    assert decode_signed_value(COOKIE_SECRET, "user", user.strip('"')) == email.encode(), user
    app = session.get(f"{base}/app", timeout=60)
    assert app.status_code == 200, log.read_text()
