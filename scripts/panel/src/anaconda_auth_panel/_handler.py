"""The Panel login handler of the `anaconda_cloud` provider (PRODUCT.md §8).

Import it as `anaconda_auth_panel.AnacondaCloudLoginHandler`, not from this module: see the
package's `__getattr__` for why.
"""

from panel.auth import CodeChallengeLoginHandler
from panel.config import config

from . import endpoints

__all__ = ["AnacondaCloudLoginHandler"]


class AnacondaCloudLoginHandler(CodeChallengeLoginHandler):
    """Anaconda Cloud login: authorization code + PKCE against the configured domain.

    Endpoints come from `--oauth-extra-params` (`AUTHORIZE_URL`, `TOKEN_URL`, `USER_URL`,
    `LOGOUT_URL`, or `auth-domain`), else from the OpenID discovery document of the domain
    `anaconda-auth config` names, else are built from that domain.
    """

    _access_token_header = "Bearer {}"
    _EXTRA_TOKEN_PARAMS = {"grant_type": "authorization_code"}
    _USER_KEY = "email"

    def _endpoint(self, name):
        return endpoints.resolve(config.oauth_extra_params or {})[name]

    @property
    def _OAUTH_AUTHORIZE_URL(self):
        return self._endpoint("authorize")

    @property
    def _OAUTH_ACCESS_TOKEN_URL(self):
        return self._endpoint("token")

    @property
    def _OAUTH_USER_URL(self):
        return self._endpoint("userinfo")

    @property
    def _OAUTH_LOGOUT_URL(self):
        return self._endpoint("logout") or ""

    def get_auth_http_client(self):
        # The token and user-info requests honour anaconda-auth's ssl_verify (a CA bundle
        # path, or false), as the discovery request does.
        verify = endpoints.settings()["ssl_verify"]
        if verify is True or verify in ("", "true"):
            return super().get_auth_http_client()
        from tornado.httpclient import AsyncHTTPClient

        defaults = {"validate_cert": False} if verify is False else {"ca_certs": verify}
        return AsyncHTTPClient(force_instance=True, defaults=defaults)

    def prepare(self):
        # The Anaconda Cloud client is public (PKCE, no secret): without --oauth-key, use
        # the client_id anaconda-auth is configured with.
        if not config.oauth_key:
            config.oauth_key = endpoints.settings()["client_id"]
        return super().prepare()
