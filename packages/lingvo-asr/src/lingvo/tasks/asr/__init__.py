"""Lingvo speech-recognition task family."""

__version__ = "0.1.0"
