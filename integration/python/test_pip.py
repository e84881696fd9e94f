"""scripts/pip/keyring with real pip against the stand-in's auth-required index (PRODUCT.md §8).

Two real pips: pip 23.2.1 (asks `keyring get URL USER`, reads one password line) and
pip >= 26.2 (asks `keyring --mode=creds --output=json get URL [USER]`, reads JSON), both from
venvs made by setup.sh. pip asks a keyring only after a 401 and ignores one inside its own
scripts folder, so scripts/pip goes first on PATH and is outside every venv. A pass-through
spy in front of it records how pip called it.
"""

import json
import os
import stat
import subprocess

import pytest

from wrappertest import SCRIPTS, VENV, SETUP_HINT, describe, run

KEYRING = SCRIPTS / "pip" / "keyring"
PROJECT = "anaconda-auth-probe"
NEW_PROTOCOL = (26, 2)


def version_tuple(text):
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@pytest.fixture(scope="session")
def probe_wheel(pypi_dir, venv_python, session_dir):
    """A five-line package, built into a wheel in the stand-in's index folder."""
    src = session_dir / "probe-src"
    (src / "anaconda_auth_probe").mkdir(parents=True)
    (src / "anaconda_auth_probe" / "__init__.py").write_text('GREETING = "served through anaconda-auth"\n')
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{PROJECT}"\nversion = "0.1.0"\n'
        '[tool.setuptools]\npackages = ["anaconda_auth_probe"]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    result = subprocess.run(
        [str(venv_python), "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(pypi_dir), str(src)],
        capture_output=True, text=True, env=env, check=False,
    )
    assert result.returncode == 0, describe(result)
    wheels = list(pypi_dir.glob("anaconda_auth_probe-*.whl"))
    assert wheels, describe(result)
    return wheels[0]


def pip_python(kind):
    python = VENV / "pips" / kind / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no pip venv {python}: {SETUP_HINT}", pytrace=False)
    return python


@pytest.fixture(params=["old", "new"])
def pip_kind(request):
    return request.param


@pytest.fixture
def spy_path(tmp_path, env):
    """PATH with a spy `keyring` first: it logs its argv, then runs scripts/pip/keyring."""
    spy_dir = tmp_path / "spy"
    spy_dir.mkdir()
    log = tmp_path / "keyring-calls.jsonl"
    spy = spy_dir / "keyring"
    spy.write_text(
        "#!/bin/sh\n"
        f"python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' \"$@\" >> '{log}'\n"
        f"exec '{KEYRING}' \"$@\"\n"
    )
    spy.chmod(spy.stat().st_mode | stat.S_IXUSR)
    return f"{spy_dir}:{env['PATH']}", log


def calls(log):
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def pip_install(kind, env, standin, target, index_user="__token__@"):
    python = pip_python(kind)
    index = f"https://{index_user}{standin.domain}/pypi/simple/"
    return run(
        [python, "-m", "pip", "install", "--no-cache-dir", "--no-input", "--disable-pip-version-check",
         "--index-url", index, "--keyring-provider", "subprocess", "--cert", standin.ca,
         "--target", target, PROJECT],
        env,
        timeout=300,
    )


def pip_version(kind, env):
    result = run([pip_python(kind), "-m", "pip", "--version"], env)
    assert result.returncode == 0, describe(result)
    return version_tuple(result.stdout.split()[1])


def test_pip_versions_speak_both_protocols(env):
    # The old venv's pip asks `get URL USER`; the new one `--mode=creds --output=json`.
    assert pip_version("old", env) < NEW_PROTOCOL
    assert pip_version("new", env) >= NEW_PROTOCOL


def test_pip_installs_with_stored_key(pip_kind, auth, env, standin, probe_wheel, spy_path, tmp_path):
    # A stored API key is the index password; pip installs the probe package.
    auth.store(standin.domain, api_key=standin.mint_key())
    path, log = spy_path
    target = tmp_path / "target"
    result = pip_install(pip_kind, {**env, "PATH": path}, standin, target)
    assert result.returncode == 0, describe(result)
    assert (target / "anaconda_auth_probe" / "__init__.py").exists()
    made = calls(log)
    assert made, "pip never ran the keyring executable\n" + describe(result)
    if pip_kind == "old":
        assert made[0][0] == "get" and made[0][2] == "__token__", made
    else:
        assert made[0][:3] == ["--mode=creds", "--output=json", "get"], made
        assert made[0][-1] == "__token__", made


def test_new_pip_without_user_in_index_url(auth, env, standin, probe_wheel, spy_path, tmp_path):
    # pip >= 26.2 asks without a username; the keyring answers `__token__` and the key.
    auth.store(standin.domain, api_key=standin.mint_key())
    path, log = spy_path
    target = tmp_path / "target"
    result = pip_install("new", {**env, "PATH": path}, standin, target, index_user="")
    assert result.returncode == 0, describe(result)
    assert (target / "anaconda_auth_probe" / "__init__.py").exists()
    made = calls(log)
    assert made and made[0] == ["--mode=creds", "--output=json", "get", f"https://{standin.domain}/pypi/simple/"], made


def test_pip_fails_without_stored_key(pip_kind, env, standin, probe_wheel, spy_path, tmp_path):
    # Nothing stored: the keyring answers nothing, pip gets no credentials and fails.
    path, log = spy_path
    target = tmp_path / "target"
    result = pip_install(pip_kind, {**env, "PATH": path}, standin, target)
    assert result.returncode != 0, describe(result)
    assert not (target / "anaconda_auth_probe").exists()
    assert calls(log), "pip never asked the keyring\n" + describe(result)


# ------------------------------------------------------------------------------------------
# The keyring executable called directly, exactly as each pip calls it.


def keyring(env, *args, input=None):
    return run([KEYRING, *args], env, input=input)


def test_old_protocol_prints_password_line(auth, env, standin):
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    result = keyring(env, "get", f"https://{standin.domain}/pypi/simple/", "__token__")
    assert result.returncode == 0, describe(result)
    assert result.stdout == key + "\n"


def test_user_part_of_url_is_ignored(auth, env, standin):
    # An index URL written with `__token__@` names the same host.
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    result = keyring(env, "get", f"https://__token__@{standin.domain}/pypi/simple/", "__token__")
    assert result.returncode == 0, describe(result)
    assert result.stdout == key + "\n"


def test_old_protocol_with_bare_netloc(auth, env, standin):
    # pip asks again with the bare netloc when the index URL gave nothing.
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    result = keyring(env, "get", standin.domain, "__token__")
    assert result.returncode == 0, describe(result)
    assert result.stdout == key + "\n"


def test_new_protocol_prints_json(auth, env, standin):
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    for extra in ([], ["__token__"]):
        result = keyring(env, "--mode=creds", "--output=json", "get", f"https://{standin.domain}/pypi/simple/", *extra)
        assert result.returncode == 0, describe(result)
        assert json.loads(result.stdout) == {"username": "__token__", "password": key}


def test_new_protocol_with_bare_host_and_user(auth, env, standin):
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    result = keyring(env, "--mode=creds", "--output=json", "get", standin.domain, "alice")
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout) == {"username": "alice", "password": key}


@pytest.mark.parametrize("args", [
    ["get", "URL", "__token__"],
    ["--mode=creds", "--output=json", "get", "URL"],
    ["--mode=creds", "--output=json", "get", "HOST"],
])
def test_nothing_stored_gives_no_output(env, standin, args):
    args = [a.replace("URL", f"https://{standin.domain}/pypi/simple/").replace("HOST", standin.domain) for a in args]
    result = keyring(env, *args)
    assert result.returncode != 0, describe(result)
    assert result.stdout == ""


def test_set_and_del_map_to_store_and_erase(auth, env, standin):
    # `keyring set` stores the API key for the host; `keyring del` erases it.
    key = standin.mint_key()
    url = f"https://__token__@{standin.domain}/pypi/simple/"
    stored = keyring(env, "set", url, "__token__", input=key + "\n")
    assert stored.returncode == 0, describe(stored)
    got = auth("get", "--domain", standin.domain, "--format", "token")
    assert got.returncode == 0 and got.stdout.strip() == key, describe(got)
    erased = keyring(env, "del", url, "__token__")
    assert erased.returncode == 0, describe(erased)
    gone = auth("get", "--domain", standin.domain)
    assert gone.returncode == 3, describe(gone)


def test_unknown_operation_is_usage_error(env):
    result = keyring(env, "frobnicate")
    assert result.returncode == 2
    assert result.stdout == ""


def test_ci_key_passthrough_reaches_pip(env, standin, probe_wheel, spy_path, tmp_path):
    # CI: ANACONDA_CLOUD_API_KEY for the configured domain is the index password.
    path, _log = spy_path
    ci = {**env, "PATH": path, "CI": "true", "ANACONDA_CLOUD_API_KEY": standin.mint_key(),
          "ANACONDA_CLOUD_DOMAIN": standin.domain}
    target = tmp_path / "target"
    result = pip_install("new", ci, standin, target)
    assert result.returncode == 0, describe(result)
    assert (target / "anaconda_auth_probe" / "__init__.py").exists()
