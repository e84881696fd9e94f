"""scripts/anaconda-curl with the real curl against the stand-in (PRODUCT.md §8)."""

import hashlib
import json
import os
import shutil
import stat

import pytest

from wrappertest import SCRIPTS, describe, run

CURL = SCRIPTS / "anaconda-curl"


@pytest.fixture(scope="session")
def curl_bin():
    found = shutil.which("curl")
    if not found:
        pytest.fail("curl not found: apt-get install curl", pytrace=False)
    return found


def anaconda_curl(env, standin, *args):
    return run([CURL, "-sS", "--cacert", standin.ca, *args], env)


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_stored_key_reaches_api_account(auth, env, standin, curl_bin):
    # A stored key is sent as `Authorization: Bearer KEY`; /api/account accepts it.
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    result = anaconda_curl(env, standin, "--fail", f"{standin.base}/api/account")
    assert result.returncode == 0, describe(result)
    account = json.loads(result.stdout)
    assert account["user"]["email"] == "wrapper-test@example.com"
    assert result.stderr == ""


def test_header_value_is_exactly_bearer_key(auth, env, standin, curl_bin):
    # The stand-in echoes sha256 of the Authorization header it received.
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    result = anaconda_curl(env, standin, "--fail", f"{standin.base}/api/test/echo")
    assert result.returncode == 0, describe(result)
    echoed = json.loads(result.stdout)
    assert echoed["headers"]["authorization"] == sha256(f"Bearer {key}")


def test_nothing_stored_runs_curl_without_header(env, standin, curl_bin):
    # No key for the host: anaconda-auth exits 3, the wrapper says nothing, curl gets a 401.
    result = anaconda_curl(env, standin, "-o", os.devnull, "-w", "%{http_code}", f"{standin.base}/api/account")
    assert result.returncode == 0, describe(result)
    assert result.stdout == "401"
    assert result.stderr == ""
    echo = anaconda_curl(env, standin, f"{standin.base}/api/test/echo")
    assert "authorization" not in json.loads(echo.stdout)["headers"], describe(echo)


def test_key_of_another_host_is_not_sent(auth, env, standin, curl_bin):
    # A key stored for another host never reaches this one.
    auth.store("other.example.com", api_key=standin.mint_key())
    result = anaconda_curl(env, standin, f"{standin.base}/api/test/echo")
    assert result.returncode == 0, describe(result)
    assert "authorization" not in json.loads(result.stdout)["headers"]


def test_repo_token_for_conda_channel(auth, env, standin, curl_bin):
    # /repo/ORG/... gets `token REPO_TOKEN` for that org.
    token = standin.mint_repo_token("acme")
    auth.store(standin.domain, repo_tokens={"acme": token})
    url = f"{standin.base}/repo/acme/main/noarch/repodata.json"
    result = anaconda_curl(env, standin, "--fail", url)
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout)["info"]["subdir"] == "noarch"


def test_key_is_not_on_curls_command_line(auth, env, standin, curl_bin, tmp_path):
    # The header reaches curl through a file descriptor, so `ps` never shows the key.
    # A pass-through spy records curl's argv, then runs the real curl.
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    argv_log = tmp_path / "argv"
    spy = tmp_path / "curl-spy"
    spy.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{argv_log}"\nexec "{curl_bin}" "$@"\n')
    spy.chmod(spy.stat().st_mode | stat.S_IXUSR)
    result = run([CURL, "-sS", "--fail", "--cacert", standin.ca, f"{standin.base}/api/account"], {**env, "CURL": str(spy)})
    assert result.returncode == 0, describe(result)
    argv = argv_log.read_text()
    assert key not in argv
    assert "@/dev/fd/3" in argv


def test_two_hosts_are_refused(auth, env, standin, curl_bin):
    # curl sends -H to every URL: with URLs on two hosts the wrapper refuses.
    auth.store(standin.domain, api_key=standin.mint_key())
    result = anaconda_curl(env, standin, f"{standin.base}/api/account", f"https://localhost:{standin.port}/api/account")
    assert result.returncode == 2, describe(result)
    assert "more than one host" in result.stderr
    assert result.stdout == ""


def test_user_credentials_are_left_alone(auth, env, standin, curl_bin):
    # An Authorization header given by the user wins; the wrapper adds none.
    auth.store(standin.domain, api_key=standin.mint_key())
    result = anaconda_curl(env, standin, "-H", "Authorization: Bearer mine", f"{standin.base}/api/test/echo")
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout)["headers"]["authorization"] == sha256("Bearer mine")


def test_other_failures_are_shown(env, standin, curl_bin):
    # A bad configuration value (exit 2) is shown on stderr; curl still runs, without a header.
    bad = {**env, "ANACONDA_CLOUD_SSL_VERIFY": "/nonexistent/ca.pem"}
    result = run([CURL, "-sS", "-o", os.devnull, "-w", "%{http_code}", "--cacert", standin.ca,
                  f"{standin.base}/api/account"], bad)
    assert result.returncode == 0, describe(result)
    assert result.stdout == "401"
    assert "anaconda-auth" in result.stderr and "ssl_verify" in result.stderr.lower(), describe(result)


def test_missing_binary_is_a_clear_error(env, standin, curl_bin):
    result = run([CURL, f"{standin.base}/api/account"], {**env, "ANACONDA_AUTH_BIN": "", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 127, describe(result)
    assert "anaconda-auth not found" in result.stderr


def test_curls_stdin_is_left_to_curl(auth, env, standin, curl_bin):
    # `-d @-` reads the body from stdin: anaconda-auth must not consume it.
    auth.store(standin.domain, api_key=standin.mint_key())
    result = run([CURL, "-sS", "--cacert", standin.ca, "-d", "@-", f"{standin.base}/api/test/echo"],
                 env, input="payload")
    assert result.returncode == 0, describe(result)
    echoed = json.loads(result.stdout)
    assert echoed["method"] == "POST"
    assert echoed["headers"]["content-length"] == str(len("payload"))
    assert "authorization" in echoed["headers"]


def test_ci_key_passthrough(env, standin, curl_bin):
    # CI: ANACONDA_CLOUD_API_KEY for the configured domain, nothing stored at all.
    key = standin.mint_key()
    ci = {**env, "CI": "true", "ANACONDA_CLOUD_API_KEY": key, "ANACONDA_CLOUD_DOMAIN": standin.domain}
    result = anaconda_curl(ci, standin, "--fail", f"{standin.base}/api/test/echo")
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout)["headers"]["authorization"] == sha256(f"Bearer {key}")
    # The same key is not handed to a host the configuration does not name.
    other = {**ci, "ANACONDA_CLOUD_DOMAIN": "anaconda.example.com"}
    result = anaconda_curl(other, standin, f"{standin.base}/api/test/echo")
    assert result.returncode == 0, describe(result)
    assert "authorization" not in json.loads(result.stdout)["headers"]
