"""Registered image experiments, discovered through the `lingvo.model_params` entry point.

Importing this package imports every experiment module of the family, so that the registry
sees their `@RegisterSingleTaskModel` classes. The family's experiments (LeNet5 on MNIST)
arrive with the trainer's quick start.
"""
