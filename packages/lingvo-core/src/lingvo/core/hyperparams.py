"""Lingvo's import path for `Params`: `from lingvo.core import hyperparams`."""

from lingvo.params.hyperparams import *  # noqa: F403
from lingvo.params.hyperparams import __all__  # noqa: F401
