"""Panel OAuth provider `anaconda_cloud` whose endpoints follow anaconda-auth's domain.

PRODUCT.md §8. Registered in the `panel.auth` entry point group, so
`panel serve --oauth-provider anaconda_cloud` picks it up. The endpoint logic lives in
`anaconda_auth_panel.endpoints` (no Panel import), the Panel handler in `_handler`.
"""

__all__ = ["AnacondaCloudLoginHandler", "endpoints"]
__version__ = "0.1.0"


def __getattr__(name):
    # Importing panel.auth runs Panel's loop over the `panel.auth` entry points, which loads
    # this very attribute. So panel.auth is imported first: when the entry point is loaded
    # before Panel (importlib.metadata, a plugin browser), the loop re-enters here, finds
    # panel.auth's classes already defined, and gets the same class object as we return.
    if name == "AnacondaCloudLoginHandler":
        import panel.auth  # noqa: F401

        from ._handler import AnacondaCloudLoginHandler

        globals()[name] = AnacondaCloudLoginHandler
        return AnacondaCloudLoginHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
