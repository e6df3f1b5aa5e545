"""Dropout layers with stateless, seeded masks: `DropoutLayer`, `DeterministicDropoutLayer`.

Masks come from a counter-based integer hash (`HashUniform`) keyed by the layer's seed
(its `random_seed` and path) and the global step, so eager execution, `tf.function` and
XLA draw the same mask for the same step, and every step a new one. TensorFlow's own
stateless Philox ops do not do this: with a seed computed at run time, XLA's Philox
stream differs from the CPU kernel's.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from lingvo.core import base_layer, hyperparams, run_mode, weights
from lingvo.core.nested_map import NestedMap

__all__ = [
    "DeterministicDropoutLayer",
    "DropoutLayer",
    "FusedDynamicMasks",
    "HashUniform",
    "StatelessDropout",
]

_MAX_SEED = 2**31 - 1
# Masks this large inside a traced function are made by XLA (`_FusedHashBits`): it saves
# more than a millisecond a step, which repays its compilation (about 0.5 s a shape).
_MIN_FUSED_SIZE = 1 << 16


def _Mix(x: tf.Tensor) -> tf.Tensor:
    """A 32-bit integer finalizer (xor-shift-multiply); a bijection on uint32."""
    for shift, mult in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(shift, tf.uint32)))
        x = x * tf.constant(mult, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))


def _HashBits(shape: Any, seed: tf.Tensor) -> tf.Tensor:
    """Returns uniform uint32 bits shaped `shape` that depend only on `seed` and the index."""
    seed = tf.cast(tf.math.floormod(tf.cast(seed, tf.int64), 2**32), tf.uint32)
    # The seed is folded into one scalar key first, so each element needs a single finalizer
    # (a counter-based generator): about half the elementwise passes of mixing per element,
    # which is most of a dropout layer's cost outside XLA.
    key = _Mix(tf.bitwise.bitwise_xor(_Mix(seed[0]), seed[1] + tf.constant(0x632BE5AB, tf.uint32)))
    index = tf.cast(tf.range(tf.reduce_prod(shape)), tf.uint32)
    return tf.reshape(_Mix(index * tf.constant(0x9E3779B9, tf.uint32) + key), shape)


@tf.function(autograph=False, jit_compile=True)
def _FusedHashBits(shape: tuple[int, ...], seed: tf.Tensor) -> tf.Tensor:
    """`_HashBits` for a shape known when tracing, its elementwise passes fused by XLA.

    Plain uint32 arithmetic, so the bits are identical to `_HashBits`'; about a third of its
    CPU time (a compilation per shape, so only for static shapes).
    """
    return _HashBits(list(shape), seed)


@tf.function(autograph=False, jit_compile=True)
def _FusedKeepMask(like: tf.Tensor, seed: tf.Tensor, threshold: tf.Tensor) -> tf.Tensor:
    """`_HashBits(tf.shape(like), seed) < threshold`, fused by XLA for whatever shape comes.

    XLA sees `like`'s concrete shape when it compiles, so a mask whose shape is only known
    at run time still gets one fused pass; the price is a compilation (a fraction of a
    second) for each new shape, which is why only `FusedDynamicMasks` scopes use it.
    """
    return _HashBits(tf.shape(like), seed) < threshold


_fusion = threading.local()


@contextlib.contextmanager
def FusedDynamicMasks() -> Iterator[None]:
    """Within this scope, traced dropout of [time, batch, ...] tensors makes XLA-fused masks.

    Outside XLA a mask costs about a dozen elementwise passes (the integer hash); fused it is
    one, a few percent of a Transformer's training step. Shapes that only settle at run time
    (bucketed batches) then compile once per shape, so the scope suits inputs with a few
    fixed shapes (Lingvo's bucketed sequence inputs); elsewhere the plain ops are used. The
    masks are bit-identical either way.
    """
    previous = getattr(_fusion, "on", False)
    _fusion.on = True
    try:
        yield
    finally:
        _fusion.on = previous


def _FuseDynamic(inputs: tf.Tensor) -> bool:
    """Whether `inputs`' own-shaped mask is made by `_FusedKeepMask` (see `FusedDynamicMasks`).

    Only for sequences ([time, batch, ...], rank 3 or more) traced in such a scope: small
    per-step tensors inside loops would pay an XLA launch for little work.
    """
    rank = inputs.shape.rank
    return getattr(_fusion, "on", False) and not tf.executing_eagerly() and (rank or 0) >= 3


def HashUniform(shape: Any, seed: tf.Tensor, dtype: tf.dtypes.DType = tf.float32) -> tf.Tensor:
    """Returns uniform [0, 1) values that depend only on `seed` and the element index.

    Plain uint32 arithmetic, so eager execution, `tf.function` and XLA (CPU or GPU) give
    bit-identical values.

    Args:
      shape: The output shape (a list or an int tensor).
      seed: An int tensor shaped [2].
      dtype: A float dtype.

    Returns:
      Shaped `shape`, with 24 random bits per element.
    """
    bits = tf.bitwise.right_shift(_HashBits(shape, seed), tf.constant(8, tf.uint32))
    return tf.cast(bits, dtype) * (1.0 / (1 << 24))


def StatelessDropout(
    inputs: tf.Tensor,
    keep_prob: float,
    seed: tf.Tensor,
    noise_shape: Sequence[int] | tf.Tensor | None = None,
) -> tf.Tensor:
    """Zeroes each element with probability `1 - keep_prob`, scaling the rest by 1/keep_prob.

    Args:
      inputs: A float tensor of any shape.
      keep_prob: The probability of keeping an element, in (0, 1].
      seed: An int tensor shaped [2]; the same seed gives the same mask.
      noise_shape: The shape of the mask, broadcast against `inputs`; defaults to its shape.

    Returns:
      Shaped like `inputs`.
    """
    if keep_prob == 1.0:
        return inputs
    own_shape = noise_shape is None
    if noise_shape is None:
        noise_shape = tf.shape(inputs)
    # Compare the raw bits with keep_prob * 2^32: one pass instead of a float uniform.
    threshold = tf.constant(min(int(keep_prob * 2**32), 2**32 - 1), tf.uint32)
    static_shape = tf.get_static_value(noise_shape)
    if (
        static_shape is not None
        and not tf.executing_eagerly()
        and int(np.prod(static_shape)) >= _MIN_FUSED_SIZE
    ):
        keep = _FusedHashBits(tuple(int(d) for d in static_shape), seed) < threshold
    elif own_shape and _FuseDynamic(inputs):
        keep = _FusedKeepMask(inputs, tf.cast(seed, tf.int64), threshold)
    else:
        keep = _HashBits(noise_shape, seed) < threshold
    # A scalar zero (broadcast by `where`) rather than `zeros_like`: one pass fewer.
    zero = tf.zeros([], inputs.dtype)
    return tf.where(keep, inputs * tf.cast(1.0 / keep_prob, inputs.dtype), zero)


class DropoutLayer(base_layer.BaseLayer):
    """Dropout in training; identity in evaluation (unless `dropout_at_eval`).

    The mask is keyed by `(random_seed + hash(path), global step)`: reproducible across
    eager, `tf.function` and XLA, different from step to step and from layer to layer.
    Without a registered global step (`run_mode.SetGlobalStep`) the step part is 0, so
    every call draws the same mask.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("keep_prob", 1.0, "The probability of keeping an element, in (0, 1].")
        p.Define(
            "noise_shape",
            None,
            "The shape of the mask (a list, broadcast against the inputs); None: the inputs'.",
        )
        p.Define(
            "noise_shape_broadcast_dims",
            None,
            "Dimensions (a list of ints) in which the mask has size 1 and so is shared.",
        )
        p.Define("dropout_at_eval", False, "Whether dropout also applies in evaluation mode.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not isinstance(p.keep_prob, (int, float)) or not 0.0 < p.keep_prob <= 1.0:
            raise ValueError(f"{self}: keep_prob must be in (0, 1], got {p.keep_prob!r}")
        if p.noise_shape is not None and p.noise_shape_broadcast_dims is not None:
            raise ValueError(f"{self}: set at most one of noise_shape, noise_shape_broadcast_dims")

    @property
    def layer_seed(self) -> int:
        """The first half of the mask seed: `random_seed` plus a hash of the layer path."""
        base = self.params.random_seed or 0
        return (base + weights.GenerateSeedFromName(self._scope)) % _MAX_SEED

    def _NoiseShape(self, inputs: tf.Tensor) -> tf.Tensor | list[int]:
        p = self.params
        if p.noise_shape is not None:
            return list(p.noise_shape)
        shape = tf.shape(inputs)
        if not p.noise_shape_broadcast_dims:
            return shape
        rank = inputs.shape.rank
        dims = []
        for d in p.noise_shape_broadcast_dims:
            if not -rank <= d < rank:
                raise ValueError(
                    f"{type(self).__name__} {self.path!r}: noise_shape_broadcast_dims entry {d} "
                    f"is out of range for inputs shaped {inputs.shape}"
                )
            dims.append(d % rank)
        return tf.stack([1 if i in dims else shape[i] for i in range(rank)])

    def _Seed(self, extra: Any = None) -> tf.Tensor:
        step = run_mode.GetGlobalStep()
        step = tf.zeros([], tf.int64) if step is None else tf.cast(step, tf.int64)
        first = tf.constant(self.layer_seed, tf.int64)
        if extra is not None:
            first = (first + tf.cast(extra, tf.int64) * 7919) % _MAX_SEED
        return tf.stack([first, step])

    def _Dropout(self, inputs: Any, extra_seed: Any = None) -> tf.Tensor:
        p = self.params
        inputs = tf.convert_to_tensor(inputs)
        if inputs.shape.rank is None:
            raise ValueError(f"{type(self).__name__} {self.path!r}: inputs need a known rank")
        if not inputs.dtype.is_floating:
            raise ValueError(
                f"{type(self).__name__} {self.path!r}: inputs must be floating point, "
                f"got {inputs.dtype.name} shaped {inputs.shape}"
            )
        if p.keep_prob == 1.0 or (self.do_eval and not p.dropout_at_eval):
            return inputs
        if p.noise_shape is not None:
            try:
                tf.broadcast_static_shape(inputs.shape, tf.TensorShape(p.noise_shape))
            except ValueError:
                raise ValueError(
                    f"{type(self).__name__} {self.path!r}: noise_shape {list(p.noise_shape)} "
                    f"does not broadcast against inputs shaped {inputs.shape.as_list()}"
                ) from None
        # None: the inputs' own shape, which `StatelessDropout` may fuse (FusedDynamicMasks).
        own = p.noise_shape is None and not p.noise_shape_broadcast_dims
        noise_shape = None if own else self._NoiseShape(inputs)
        return StatelessDropout(inputs, p.keep_prob, self._Seed(extra_seed), noise_shape)

    def FProp(self, theta: NestedMap, inputs: Any) -> tf.Tensor:
        """Applies dropout to `inputs`.

        Args:
          theta: This layer's theta (empty).
          inputs: A float tensor shaped [...].

        Returns:
          Shaped like `inputs`.
        """
        del theta
        return self._Dropout(inputs)


class DeterministicDropoutLayer(DropoutLayer):
    """Dropout whose mask is a function of the layer, the global step and a caller's step.

    Calling it twice with the same `step_seed` gives the same mask (what recomputation in
    the backward pass and per-time-step masks in recurrent loops need); different
    `step_seed`s give independent masks within one global step.
    """

    def FProp(self, theta: NestedMap, inputs: Any, step_seed: Any = 0) -> tf.Tensor:
        """Applies dropout to `inputs` with a mask keyed by `step_seed` too.

        Args:
          theta: This layer's theta (empty).
          inputs: A float tensor shaped [...].
          step_seed: An int (or int scalar tensor), e.g. the time step of a loop.

        Returns:
          Shaped like `inputs`.
        """
        del theta
        return self._Dropout(inputs, step_seed)
