"""Registered image experiments, discovered through the `lingvo.model_params` entry point.

Importing this package imports every experiment module of the family, so that the registry
sees their `@RegisterSingleTaskModel` classes: `image.mnist.LeNet5` (short `mnist.LeNet5`).
"""

from lingvo.tasks.image.params import mnist  # noqa: F401
