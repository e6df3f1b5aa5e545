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

# Decoding helpers, under the names Lingvo's models import them by. Resolved on first use
# (PEP 562) so that importing py_utils pulls in neither the kernels nor a cycle through
# base_layer.
_LAZY = {
    "BeamSearchDecodeOutput": "lingvo.core.beam_search_helper",
    "BeamSearchHelper": "lingvo.core.beam_search_helper",
    "MergeBeamSearchOutputs": "lingvo.core.beam_search_helper",
    "GreedySearchHelper": "lingvo.core.greedy_search_helper",
    "SampleSearchHelper": "lingvo.core.greedy_search_helper",
}
__all__ += sorted(_LAZY)


def __getattr__(name: str):
    """Imports the decoding helpers named in `_LAZY` on first access."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
