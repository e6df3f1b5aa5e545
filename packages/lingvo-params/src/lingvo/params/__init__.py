"""Lingvo hyperparameter trees, NestedMap and the model registry (standard library only)."""

from lingvo.params import value_codecs
from lingvo.params.base_model_params import (
    DatasetError,
    MultiTaskModelParams,
    SingleTaskModelParams,
)
from lingvo.params.hyperparams import (
    CopyFieldsSubsetTo,
    CopyFieldsTo,
    InstantiableParams,
    Params,
)
from lingvo.params.nested_map import NestedMap

__version__ = "0.1.0"

__all__ = [
    "CopyFieldsSubsetTo",
    "CopyFieldsTo",
    "DatasetError",
    "InstantiableParams",
    "MultiTaskModelParams",
    "NestedMap",
    "Params",
    "SingleTaskModelParams",
    "value_codecs",
]
