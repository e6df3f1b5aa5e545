"""Teaches `Params` text and copies about TensorFlow dtypes, tensors and numpy values.

lingvo-params imports only the standard library; it learns about these types through
`lingvo.params.value_codecs`, and this module registers the codecs when `lingvo.core` is
imported. Numpy values print as plain Python literals on one line (Lingvo printed 2-D arrays
over several lines, and numpy scalars as their bare type name, neither of which read back).
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import tensorflow as tf

from lingvo.params import value_codecs

__all__ = ["register_all"]


def _literal(text: str, what: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"expected a Python literal for {what}, got {text!r}") from e


class DTypeCodec(value_codecs.ValueCodec):
    """`tf.float32` <-> `float32`; dtypes are singletons, so copies share them."""

    type_name = "DType"
    share_on_copy = True

    def matches(self, value: Any) -> bool:
        return isinstance(value, tf.dtypes.DType)

    def to_text(self, value: Any) -> str:
        return value.name

    def from_text(self, text: str, old_value: Any) -> Any:
        try:
            return tf.as_dtype(text.strip("'\""))
        except TypeError as e:
            raise ValueError(f"{text!r} is not a TensorFlow dtype name such as 'float32'") from e


class TensorCodec(value_codecs.ValueCodec):
    """Tensors and variables are shared by reference in copies (their identity matters)."""

    type_name = "Tensor"
    share_on_copy = True

    def matches(self, value: Any) -> bool:
        return isinstance(value, (tf.Tensor, tf.Variable))

    def to_text(self, value: Any) -> str:
        return type(value).__name__

    def from_text(self, text: str, old_value: Any) -> Any:
        raise ValueError("a tensor cannot be read from params text; set it in Python")


class NdarrayCodec(value_codecs.ValueCodec):
    """`np.array([[1, 2]])` <-> `[[1, 2]]`, keeping the old array's dtype."""

    type_name = "ndarray"

    def matches(self, value: Any) -> bool:
        return isinstance(value, np.ndarray)

    def to_text(self, value: Any) -> str:
        return repr(value.tolist())

    def from_text(self, text: str, old_value: Any) -> Any:
        dtype = old_value.dtype if isinstance(old_value, np.ndarray) else None
        return np.asarray(_literal(text, "a numpy array"), dtype=dtype)


class NumpyScalarCodec(value_codecs.ValueCodec):
    """One numpy scalar type, e.g. `np.float32(0.5)` <-> `0.5`, read back as the same type."""

    share_on_copy = True  # numpy scalars are immutable

    def __init__(self, scalar_type: type[np.generic]):
        self.scalar_type = scalar_type
        self.type_name = scalar_type.__name__

    def matches(self, value: Any) -> bool:
        return type(value) is self.scalar_type

    def to_text(self, value: Any) -> str:
        return repr(value.item())

    def from_text(self, text: str, old_value: Any) -> Any:
        return self.scalar_type(_literal(text, f"a numpy {self.type_name}"))


# `np.bool_` is left out on purpose: its name is 'bool', which Params reads as a Python bool.
_SCALAR_TYPES = (
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
)

CODECS = (
    DTypeCodec(),
    TensorCodec(),
    NdarrayCodec(),
    *(NumpyScalarCodec(t) for t in _SCALAR_TYPES),
)


def register_all() -> None:
    """Registers every codec of this module (idempotent; `import lingvo.core` calls it)."""
    for codec in CODECS:
        value_codecs.register(codec, replace=True)
