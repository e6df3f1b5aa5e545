"""Registered asr experiments, discovered through the `lingvo.model_params` entry point.

Importing this package imports every experiment module of the family, so that the registry
sees their `@RegisterSingleTaskModel` classes.
"""

from lingvo.tasks.asr.params import fsdd, librispeech  # noqa: F401
