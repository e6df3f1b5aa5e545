"""The activation functions layers name in their params (`'RELU'`, `'GELU'`, ...)."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

__all__ = ["GetFn", "IsSupported", "Names"]


def _Identity(x: tf.Tensor) -> tf.Tensor:
    return x


_ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "NONE": _Identity,
    "RELU": tf.nn.relu,
    "RELU6": tf.nn.relu6,
    "SQUARED_RELU": lambda x: tf.square(tf.nn.relu(x)),
    "LEAKY_RELU": tf.nn.leaky_relu,
    "ELU": tf.nn.elu,
    "SELU": tf.nn.selu,
    "SIGMOID": tf.sigmoid,
    "TANH": tf.tanh,
    "GELU": lambda x: tf.nn.gelu(x, approximate=False),
    "GELU_APPROXIMATE": lambda x: tf.nn.gelu(x, approximate=True),
    "SWISH": tf.nn.silu,
    "SILU": tf.nn.silu,
    "SOFTPLUS": tf.nn.softplus,
    "SOFTSIGN": tf.nn.softsign,
    "EXP": tf.exp,
    "SQUARE": tf.square,
    "LOG_SIGMOID": tf.math.log_sigmoid,
}


def Names() -> list[str]:
    """Returns the supported activation names, sorted."""
    return sorted(_ACTIVATIONS)


def IsSupported(name: str) -> bool:
    """Returns True if `name` is a supported activation."""
    return name in _ACTIVATIONS


def GetFn(name: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """Returns the activation function called `name`.

    Raises:
      ValueError: If `name` is not supported, listing the supported names.
    """
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; supported: {Names()}") from None
