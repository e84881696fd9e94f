"""The conda plugin module named by the `conda` entry point (PRODUCT.md §8).

```yaml
# ~/.condarc
channel_settings:
  - channel: https://repo.anaconda.cloud/*
    auth: anaconda-auth
```
"""

from ._compat import CondaAuthHandler, hookimpl
from .handler import HANDLER_NAMES, AnacondaAuthHandler

__all__ = ["conda_auth_handlers"]


@hookimpl
def conda_auth_handlers():
    """The auth handlers: `anaconda-auth`, and `anaconda-cloud-auth` for existing .condarc files."""
    for name in HANDLER_NAMES:
        yield CondaAuthHandler(name=name, handler=AnacondaAuthHandler)
