"""Lingvo's C++ ops as pybind11 kernels over numpy arrays, free of any TensorFlow ABI."""

from lingvo.ops._ops import ascii_to_token_ids, id_to_ascii

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ascii_to_token_ids",
    "id_to_ascii",
]
