"""The binary as a Bazel/Buck2 credential helper (PRODUCT.md §3, the Bazel credential-helper spec).

Bazel runs `HELPER get` with `{"uri": "https://..."}` on stdin and reads
`{"headers": {"NAME": ["VALUE", ...]}, "expires": "RFC 3339"}` from stdout; a helper that
has nothing for the URI must fail (non-zero exit) rather than answer another host's key.
Bazel itself cannot be installed here (its launchers download prebuilt binaries), so these
tests send exactly the requests Bazel sends.
"""

import json

import pytest

from wrappertest import describe


def test_bazel_request_shape(auth, standin):
    # The spec's request: only "uri". Headers are lists of strings.
    key = standin.mint_key()
    auth.store(standin.domain, api_key=key)
    result = auth("get", input=json.dumps({"uri": f"https://{standin.domain}/some/artifact.tar.gz"}))
    assert result.returncode == 0, describe(result)
    answer = json.loads(result.stdout)
    assert answer["headers"] == {"Authorization": [f"Bearer {key}"]}
    assert isinstance(answer["headers"]["Authorization"], list)
    if "expires" in answer:
        assert answer["expires"].endswith("Z") or "+" in answer["expires"], answer


def test_bazel_request_for_conda_repo_path(auth, standin):
    # A /repo/ORG/ URI is answered with that org's repo token.
    token = standin.mint_repo_token("acme")
    auth.store(standin.domain, repo_tokens={"acme": token})
    result = auth("get", input=json.dumps({"uri": f"https://{standin.domain}/repo/acme/main/noarch/repodata.json"}))
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout)["headers"]["Authorization"] == [f"token {token}"]


def test_bazel_request_ignores_unknown_fields(auth, standin):
    # Newer Bazel versions may add fields; they are ignored.
    auth.store(standin.domain, api_key=standin.mint_key())
    request = {"uri": f"https://{standin.domain}/x", "futureField": {"a": 1}}
    result = auth("get", input=json.dumps(request))
    assert result.returncode == 0, describe(result)
    assert "Authorization" in json.loads(result.stdout)["headers"]


@pytest.mark.parametrize("uri", ["https://repo.example.com/file", "https://127.0.0.1:1/file"])
def test_bazel_request_for_unknown_host_fails(auth, standin, uri):
    # Nothing for the host: exit 3, nothing on stdout, one line on stderr (Bazel shows it).
    auth.store(standin.domain, api_key=standin.mint_key())
    result = auth("get", input=json.dumps({"uri": uri}))
    assert result.returncode == 3, describe(result)
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, describe(result)
