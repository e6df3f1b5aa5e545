"""Lingvo's `from lingvo import model_registry` path to the model registry of lingvo.params."""

from lingvo.params.base_model_params import DatasetError
from lingvo.params.registry import (
    ApplyParamsOverrides,
    GetAllRegisteredClasses,
    GetClass,
    GetParams,
    GetRegistryKeys,
    IsolatedRegistry,
    ModelParamsClassKey,
    RegisterMultiTaskModel,
    RegisterSingleTaskModel,
)

__all__ = [
    "ApplyParamsOverrides",
    "DatasetError",
    "GetAllRegisteredClasses",
    "GetClass",
    "GetParams",
    "GetRegistryKeys",
    "IsolatedRegistry",
    "ModelParamsClassKey",
    "RegisterMultiTaskModel",
    "RegisterSingleTaskModel",
]
