"""conda auth handler backed by the anaconda-auth binary (PRODUCT.md §8).

`AnacondaAuthHandler` is a `requests` auth class in the shape of conda's `ChannelAuthBase`;
`anaconda_auth_conda.plugin` holds the `conda_auth_handlers` hook that conda loads through the
`conda` entry point group.
"""

from .handler import AnacondaAuthError, AnacondaAuthHandler, HANDLER_NAMES

__all__ = ["AnacondaAuthError", "AnacondaAuthHandler", "HANDLER_NAMES"]
__version__ = "0.1.0"
