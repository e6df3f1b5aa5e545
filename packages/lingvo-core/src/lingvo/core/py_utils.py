"""Lingvo's import path for weight, noise and tensor helpers: `from lingvo.core import py_utils`.

The code lives in small family modules (`weights`, `variational_noise`, `run_mode`,
`tensors`); this module re-exports their public names under Lingvo's names.
"""

from lingvo.core.nested_map import NestedMap
from lingvo.core.run_mode import EvalMode, GetGlobalStep, IsEvalMode, SetGlobalStep
from lingvo.core.tensors import ApplyPadding, CheckShape, FPropDtype
from lingvo.core.variational_noise import AddVN, DefaultVN, DisableVN, VariationalNoiseParams
from lingvo.core.weights import (
    SKIP_LP_REGULARIZATION,
    CreateVariable,
    DefaultParamInit,
    GenerateSeedFromName,
    GetFanInFanOut,
    IsDefaultParamInit,
    WeightInit,
    WeightParams,
)

__all__ = [
    "SKIP_LP_REGULARIZATION",
    "AddVN",
    "ApplyPadding",
    "CheckShape",
    "CreateVariable",
    "DefaultParamInit",
    "DefaultVN",
    "DisableVN",
    "EvalMode",
    "FPropDtype",
    "GenerateSeedFromName",
    "GetFanInFanOut",
    "GetGlobalStep",
    "IsDefaultParamInit",
    "IsEvalMode",
    "NestedMap",
    "SetGlobalStep",
    "VariationalNoiseParams",
    "WeightInit",
    "WeightParams",
]
