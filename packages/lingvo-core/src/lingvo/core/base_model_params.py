"""Lingvo's import path for the model-params base classes, re-exported from lingvo-params."""

from lingvo.params.base_model_params import (
    CoreFactories,
    DatasetError,
    GetCoreFactories,
    MultiTaskModelParams,
    SetCoreFactories,
    SingleTaskModelParams,
)

__all__ = [
    "CoreFactories",
    "DatasetError",
    "GetCoreFactories",
    "MultiTaskModelParams",
    "SetCoreFactories",
    "SingleTaskModelParams",
]
