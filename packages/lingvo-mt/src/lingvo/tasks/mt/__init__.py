"""Lingvo machine translation task family."""

__version__ = "0.1.0"
