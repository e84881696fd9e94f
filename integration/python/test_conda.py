"""The conda plugin (scripts/conda) with the real requests against the stand-in's channel.

PRODUCT.md §8. conda itself is not on PyPI and cannot be installed here, so these tests load
the plugin the way conda does (the `conda` entry point group, the `conda_auth_handlers` hook)
and send the requests conda would send with the real `requests` library; the plugin's local
stand-ins for `ChannelAuthBase`/`CondaAuthHandler` are in use (checked below). Each check
runs in a fresh Python process of the test venv, as one conda run would.
"""

import json
import textwrap

import pytest

from wrappertest import describe, run

# Loads the plugin through its entry point, asks the hook for the handler named argv[1],
# fetches argv[2] with it, and prints what happened as JSON.
PROBE = textwrap.dedent(
    """
    import json, os, sys
    from importlib.metadata import entry_points
    import requests

    eps = entry_points()
    group = eps.select(group="conda") if hasattr(eps, "select") else eps.get("conda", [])
    (ep,) = [e for e in group if e.name == "anaconda-auth"]
    plugin = ep.load()
    handlers = {h.name: h.handler for h in plugin.conda_auth_handlers()}
    from anaconda_auth_conda import _compat
    out = {"names": sorted(handlers), "have_conda": _compat.HAVE_CONDA,
           "hookimpl": hasattr(plugin.conda_auth_handlers, "conda_impl")}
    handler = handlers[sys.argv[1]](sys.argv[2])
    session = requests.Session()
    try:
        for url in sys.argv[3:]:
            r = session.get(url, auth=handler, verify=os.environ["PROBE_CA"], timeout=30)
            out.setdefault("status", []).append(r.status_code)
            out.setdefault("body", []).append(r.json())
    except Exception as exc:
        out["error_type"] = type(exc).__name__
        out["error"] = str(exc)
    print(json.dumps(out))
    """
)


def probe(venv_python, env, standin, handler_name, *urls):
    result = run([venv_python, "-c", PROBE, handler_name, "channel", *urls], {**env, "PROBE_CA": standin.ca})
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def repodata(standin, org, channel="main"):
    return f"{standin.base}/repo/{org}/{channel}/noarch/repodata.json"


def test_plugin_registers_both_handler_names(venv_python, env, standin, auth):
    auth.store(standin.domain, repo_tokens={"acme": standin.mint_repo_token("acme")})
    out = probe(venv_python, env, standin, "anaconda-auth", repodata(standin, "acme"))
    assert out["names"] == ["anaconda-auth", "anaconda-cloud-auth"]
    assert out["hookimpl"] is True
    # conda is not installable here: the plugin runs on its local stand-ins for conda's types.
    assert out["have_conda"] is False


@pytest.mark.parametrize("name", ["anaconda-auth", "anaconda-cloud-auth"])
def test_stored_repo_token_fetches_repodata(name, venv_python, env, standin, auth):
    # `token REPO_TOKEN` for /repo/ORG/: the channel answers 200 with repodata.
    auth.store(standin.domain, repo_tokens={"acme": standin.mint_repo_token("acme")})
    out = probe(venv_python, env, standin, name, repodata(standin, "acme"), repodata(standin, "acme", "extra"))
    assert "error" not in out, out
    assert out["status"] == [200, 200]
    assert out["body"][0]["info"]["subdir"] == "noarch"


def test_each_org_gets_its_own_token(venv_python, env, standin, auth):
    # Two orgs on one host: each /repo/ORG/ gets that org's token (cached per host + org).
    auth.store(standin.domain, repo_tokens={
        "acme": standin.mint_repo_token("acme"),
        "globex": standin.mint_repo_token("globex"),
    })
    out = probe(venv_python, env, standin, "anaconda-auth", repodata(standin, "acme"), repodata(standin, "globex"))
    assert "error" not in out, out
    assert out["status"] == [200, 200]


def test_binary_is_asked_once_per_host_and_org(venv_python, env, standin, auth, tmp_path):
    # One conda run fetching many files asks the binary once per host and /repo/ORG/: the real
    # binary, behind a script that only counts its calls.
    auth.store(standin.domain, repo_tokens={
        "acme": standin.mint_repo_token("acme"),
        "globex": standin.mint_repo_token("globex"),
    })
    calls = tmp_path / "calls"
    counting = tmp_path / "anaconda-auth"
    counting.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexec "{env["ANACONDA_AUTH_BIN"]}" "$@"\n')
    counting.chmod(0o755)
    urls = [repodata(standin, "acme"), repodata(standin, "acme", "extra"),
            repodata(standin, "globex"), repodata(standin, "acme")]
    out = probe(venv_python, {**env, "ANACONDA_AUTH_BIN": str(counting)}, standin, "anaconda-auth", *urls)
    assert "error" not in out, out
    assert out["status"] == [200, 200, 200, 200]
    assert len(calls.read_text().splitlines()) == 2, calls.read_text()


def test_https_answer_is_not_reused_for_http(venv_python, env, standin, auth):
    # The answer for https://HOST/repo/ORG/ is cached; an http:// URL on the same host and org
    # must still get none (the binary refuses http), not the cached header in cleartext.
    auth.store(standin.domain, repo_tokens={"acme": standin.mint_repo_token("acme")})
    script = textwrap.dedent(
        """
        import sys
        import requests
        from anaconda_auth_conda.handler import AnacondaAuthHandler

        handler = AnacondaAuthHandler("channel")
        for url in sys.argv[1:]:
            prepared = handler(requests.Request("GET", url).prepare())
            print("Authorization" in prepared.headers)
        """
    )
    https = repodata(standin, "acme")
    http = "http://" + https.split("://", 1)[1]
    result = run([venv_python, "-c", script, https, http], env)
    assert result.returncode == 0, describe(result)
    assert result.stdout.split() == ["True", "False"]


def test_api_key_works_for_channel(venv_python, env, standin, auth):
    # With only an API key stored, the channel gets `Bearer KEY`, which it accepts.
    auth.store(standin.domain, api_key=standin.mint_key())
    out = probe(venv_python, env, standin, "anaconda-auth", repodata(standin, "acme"))
    assert "error" not in out, out
    assert out["status"] == [200]


def test_nothing_stored_is_a_clear_error(venv_python, env, standin):
    # No token: the request goes out bare, the channel says 401, the error says how to log in.
    out = probe(venv_python, env, standin, "anaconda-auth", repodata(standin, "acme"))
    assert out.get("error_type") == "AnacondaAuthError", out
    assert "anaconda-auth login" in out["error"]
    assert "no credentials are stored" in out["error"]
    assert standin.domain in out["error"]


def test_refused_token_is_a_clear_error(venv_python, env, standin, auth):
    # A token the channel refuses (another org's): the error says it was refused and how to log in.
    auth.store(standin.domain, repo_tokens={"acme": standin.mint_repo_token("acme")})
    out = probe(venv_python, env, standin, "anaconda-auth", repodata(standin, "initech"))
    assert out.get("error_type") == "AnacondaAuthError", out
    assert "refused" in out["error"] and "anaconda-auth login" in out["error"]


def test_token_never_sent_to_another_host(venv_python, env, standin, auth):
    # A token stored for another host is not sent here (the stand-in echoes what it got).
    auth.store("repo.example.com", repo_tokens={"acme": standin.mint_repo_token("acme")})
    out = probe(venv_python, env, standin, "anaconda-auth", f"{standin.base}/api/test/echo")
    assert "error" not in out, out
    assert "authorization" not in out["body"][0]["headers"]


PLUGGY = textwrap.dedent(
    """
    import json
    import pluggy

    # conda's plugin manager is pluggy's, project "conda", fed from the "conda" entry points;
    # this hookspec mirrors conda.plugins.hookspec.CondaSpecs.conda_auth_handlers.
    spec = pluggy.HookspecMarker("conda")

    class Specs:
        @spec
        def conda_auth_handlers(self):
            ...

    pm = pluggy.PluginManager("conda")
    pm.add_hookspecs(Specs)
    loaded = pm.load_setuptools_entrypoints("conda")
    names = sorted(h.name for result in pm.hook.conda_auth_handlers() for h in result)
    print(json.dumps({"loaded": loaded, "names": names}))
    """
)


def test_pluggy_loads_plugin_like_conda(venv_python, env):
    # The hook is found and called through pluggy exactly as conda's plugin manager does it.
    result = run([venv_python, "-c", PLUGGY], env)
    assert result.returncode == 0, describe(result)
    out = json.loads(result.stdout)
    assert out["loaded"] >= 1
    assert out["names"] == ["anaconda-auth", "anaconda-cloud-auth"]
