"""Lingvo hyperparameter trees, NestedMap and the model registry (standard library only)."""

__version__ = "0.1.0"
