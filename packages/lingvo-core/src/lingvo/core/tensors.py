"""Small tensor helpers layers share: static shape checks, dtypes and padding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from lingvo.core import hyperparams

__all__ = ["ApplyPadding", "CheckShape", "FPropDtype", "FormatShape", "MatMulLastDim"]


def FPropDtype(p: hyperparams.Params) -> tf.dtypes.DType:
    """Returns the activation dtype of layer params: `fprop_dtype`, else `dtype`."""
    return p.fprop_dtype if p.fprop_dtype is not None else p.dtype


def FormatShape(shape: Sequence[Any]) -> str:
    """Formats a shape spec or a `tf.TensorShape` as `[2, ?, 8]` (`...` for any dims)."""
    parts = []
    for d in shape:
        if d is Ellipsis:
            parts.append("...")
        elif d is None:
            parts.append("?")
        else:
            parts.append(str(int(d)))
    return "[" + ", ".join(parts) + "]"


def CheckShape(x: Any, expected: Sequence[Any], what: str = "input", where: str = "") -> Any:
    """Checks the static shape of `x` against `expected` and returns `x`.

    Dimensions that are unknown at trace time are not checked; nothing is added to the graph.

    Args:
      x: A tensor, variable or array.
      expected: One int (or None for any size) per dimension. A leading `...` stands for
        any number of leading dimensions, e.g. `[..., input_dim]`.
      what: What `x` is, for the message (e.g. `inputs`).
      where: Who checks, for the message (e.g. `ProjectionLayer 'model.proj'`).

    Returns:
      `x`, unchanged.

    Raises:
      ValueError: If the rank or a known dimension differs, naming `where`, `what`, the
        expected and the actual shape.
    """
    shape = tf.TensorShape(getattr(x, "shape", None))
    if shape.rank is None:
        return x
    expected = list(expected)
    open_ended = bool(expected) and expected[0] is Ellipsis
    if any(d is Ellipsis for d in expected[int(open_ended) :]):
        raise ValueError(f"only a leading ... is supported in a shape spec, got {expected}")
    dims = expected[1:] if open_ended else expected
    actual = shape.as_list()
    ok = len(actual) >= len(dims) if open_ended else len(actual) == len(dims)
    if ok and dims:
        for want, got in zip(dims, actual[len(actual) - len(dims) :], strict=True):
            if want is not None and got is not None and int(want) != got:
                ok = False
    if not ok:
        prefix = f"{where}: " if where else ""
        raise ValueError(
            f"{prefix}{what} expected shape {FormatShape(expected)}, got {FormatShape(actual)}"
        )
    return x


def ApplyPadding(padding: Any, x: Any) -> tf.Tensor:
    """Zeroes `x` where `padding` is 1.0.

    Args:
      padding: Shaped like `x`, or like `x` without its last dimension (it is then
        broadcast over it); 1.0 marks padded positions.
      x: Shaped [..., dim].

    Returns:
      `x * (1 - padding)`, shaped like `x`.
    """
    x = tf.convert_to_tensor(x)
    padding = tf.cast(padding, x.dtype)
    if padding.shape.rank is not None and padding.shape.rank == x.shape.rank - 1:
        padding = padding[..., tf.newaxis]
    return x * (1.0 - padding)


def MatMulLastDim(inputs: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
    """Multiplies the last dimension of `inputs` by `w`: `[..., i] x [i, o] -> [..., o]`.

    `tf.einsum("...i,io->...o")` broadcasts `w` into a batched matmul on CPU, which measured
    about 70 times slower than one 2-D matmul on a [64, 8, 64] x [64, 256] product; folding the
    leading dimensions into rows keeps it one GEMM forwards and backwards.

    Args:
      inputs: Shaped [..., i].
      w: Shaped [i, o].

    Returns:
      Shaped [..., o].
    """
    if inputs.shape.rank == 2:
        return tf.matmul(inputs, w)
    out = tf.matmul(tf.reshape(inputs, [-1, tf.shape(inputs)[-1]]), w)
    return tf.reshape(out, tf.concat([tf.shape(inputs)[:-1], tf.shape(w)[-1:]], axis=0))
