"""Lingvo's import path for `NestedMap`: `from lingvo.core import nested_map`."""

from lingvo.params.nested_map import *  # noqa: F403
from lingvo.params.nested_map import __all__  # noqa: F401
