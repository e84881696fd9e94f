"""conda's plugin types when conda is importable, else stand-ins of the same shape.

conda is not on PyPI, so this package cannot depend on it. Inside a conda installation the
real `ChannelAuthBase`, `CondaAuthHandler`, `hookimpl` and `CondaError` are used. Elsewhere
(tests, or a plain `pip install`) these stand-ins mirror exactly what the plugin uses of them:
`ChannelAuthBase(channel_name)` is a `requests.auth.AuthBase` with a `channel_name`
attribute, `CondaAuthHandler` is a `(name, handler)` record, and `hookimpl` marks the hook
function as pluggy's `HookimplMarker("conda")` would.
"""

from typing import NamedTuple, Type

try:  # conda >= 23.7 has ChannelAuthBase
    from conda import CondaError
    from conda.plugins import hookimpl
    from conda.plugins.types import ChannelAuthBase, CondaAuthHandler

    HAVE_CONDA = True
except ImportError:
    from requests.auth import AuthBase

    HAVE_CONDA = False

    class CondaError(Exception):
        """Stand-in for `conda.CondaError` (conda prints these without a traceback)."""

    class ChannelAuthBase(AuthBase):
        """Stand-in for `conda.plugins.types.ChannelAuthBase`."""

        def __init__(self, channel_name, *args, **kwargs):
            self.channel_name = channel_name
            super().__init__(*args, **kwargs)

    class CondaAuthHandler(NamedTuple):
        """Stand-in for `conda.plugins.types.CondaAuthHandler`."""

        name: str
        handler: Type[ChannelAuthBase]

    try:
        import pluggy

        hookimpl = pluggy.HookimplMarker("conda")
    except ImportError:

        def hookimpl(function=None, **options):
            """Stand-in for `pluggy.HookimplMarker("conda")`: sets `conda_impl`."""

            def mark(f):
                setattr(f, "conda_impl", dict(options))
                return f

            return mark(function) if function is not None else mark


__all__ = ["HAVE_CONDA", "ChannelAuthBase", "CondaAuthHandler", "CondaError", "hookimpl"]
