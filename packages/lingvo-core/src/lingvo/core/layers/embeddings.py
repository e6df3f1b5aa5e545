"""Embedding layers: the id lookup `SimpleEmbeddingLayer` and sinusoidal positions.

The tied embedding/softmax of the Transformer recipes is `softmaxes.SharedSoftmaxLayer`:
one set of weights serving as the softmax and, through `EmbLookup`, as the embedding.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, tensors, weights
from lingvo.core.nested_map import NestedMap

__all__ = ["LookupIds", "PositionalEmbeddingLayer", "SimpleEmbeddingLayer", "SinusoidalSignal"]


def LookupIds(
    where: str, table: tf.Tensor, ids: Any, vocab_size: int, use_matmul: bool = False
) -> tf.Tensor:
    """Returns the rows of `table` at `ids`, checking that every id is in [0, vocab_size).

    Eagerly and under `tf.function` an out-of-range id raises `InvalidArgumentError`
    (as Lingvo's `assert_between`). XLA drops runtime assertions; there ids are clamped to
    [0, vocab_size - 1], so a bad id never reads outside the table.

    Args:
      where: Who looks up, for messages (e.g. `SimpleEmbeddingLayer 'model.emb'`).
      table: Shaped [vocab_size, dim].
      ids: Integer ids shaped [...].
      vocab_size: The number of rows of `table`.
      use_matmul: Whether to look up by a one-hot matmul (dense gradients) instead of a
        gather (sparse gradients).

    Returns:
      Shaped [..., dim].

    Raises:
      ValueError: If `ids` is not an integer tensor.
    """
    ids = tf.convert_to_tensor(ids)
    if not ids.dtype.is_integer:
        raise ValueError(f"{where}: ids must be integers, got {ids.dtype.name} shaped {ids.shape}")
    ids = tf.cast(ids, tf.int32)
    check = tf.debugging.assert_less(
        ids, vocab_size, message=f"{where}: ids must be < vocab_size {vocab_size}"
    )
    check_neg = tf.debugging.assert_non_negative(ids, message=f"{where}: ids must be >= 0")
    with tf.control_dependencies([check, check_neg]):
        ids = tf.clip_by_value(ids, 0, vocab_size - 1)
    if use_matmul:
        return tensors.MatMulLastDim(tf.one_hot(ids, vocab_size, dtype=table.dtype), table)
    return tf.gather(table, ids)


class SimpleEmbeddingLayer(base_layer.BaseLayer):
    """Maps integer ids to learned vectors: `out[..., :] = wm[ids[...], :]`.

    Variable: `wm` shaped [vocab_size, embedding_dim]. Ids outside [0, vocab_size) raise
    `InvalidArgumentError` eagerly and under `tf.function`, and are clamped under XLA
    (see `LookupIds`).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("vocab_size", None, "The number of distinct ids (rows of the table).")
        p.Define("embedding_dim", None, "The depth of each embedding vector.")
        p.Define(
            "use_matmul",
            False,
            "Whether to look up by a one-hot matmul (dense gradients) instead of a gather.",
        )
        p.Define(
            "scale_sqrt_depth",
            False,
            "Whether the looked-up vectors are multiplied by sqrt(embedding_dim).",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        for field in ("vocab_size", "embedding_dim"):
            value = p.Get(field)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{self}: {field} must be a positive int, got {value!r}")

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        self.CreateVariable(
            "wm", weights.WeightParams([p.vocab_size, p.embedding_dim], p.params_init, p.dtype)
        )

    def AddGlobalVN(self, theta: NestedMap) -> NestedMap:
        theta = super().AddGlobalVN(theta)
        theta.wm = self.AddVN(theta.wm, "wm")
        return theta

    def EmbLookup(self, theta: NestedMap, ids: Any) -> tf.Tensor:
        """Looks up the embeddings of `ids`.

        Args:
          theta: This layer's theta (`wm`).
          ids: Integer ids shaped [...], each in [0, vocab_size).

        Returns:
          Shaped [..., embedding_dim].
        """
        p = self.params
        out = LookupIds(
            f"{type(self).__name__} {self.path!r}", theta.wm, ids, p.vocab_size, p.use_matmul
        )
        if p.scale_sqrt_depth:
            out *= math.sqrt(p.embedding_dim)
        return out

    def FProp(self, theta: NestedMap, ids: Any) -> tf.Tensor:
        """Same as `EmbLookup`."""
        return self.EmbLookup(theta, ids)


def SinusoidalSignal(
    positions: Any, embedding_dim: int, min_timescale: float = 1.0, max_timescale: float = 1e4
) -> tf.Tensor:
    """Returns `concat(sin(pos * inv_ts), cos(pos * inv_ts))` over the last dimension.

    `inv_ts[i] = min_timescale * exp(-i * log(max_timescale / min_timescale) / max(n - 1, 1))`
    for `i < n = embedding_dim // 2`; the sine and cosine halves are concatenated, not
    interleaved, and an odd `embedding_dim` gets a trailing zero column.

    Args:
      positions: Positions (ints or floats) shaped [...].
      embedding_dim: The depth of the signal.
      min_timescale: The shortest wavelength's timescale.
      max_timescale: The longest wavelength's timescale.

    Returns:
      A float32 tensor shaped [..., embedding_dim].
    """
    positions = tf.cast(positions, tf.float32)
    num_timescales = embedding_dim // 2
    log_increment = math.log(max_timescale / min_timescale) / max(num_timescales - 1, 1)
    inv_timescales = min_timescale * tf.exp(
        tf.range(num_timescales, dtype=tf.float32) * -log_increment
    )
    scaled = positions[..., tf.newaxis] * inv_timescales
    signal = tf.concat([tf.sin(scaled), tf.cos(scaled)], axis=-1)
    if embedding_dim % 2:
        signal = tf.concat([signal, tf.zeros_like(signal[..., :1])], axis=-1)
    return signal


class PositionalEmbeddingLayer(base_layer.BaseLayer):
    """The sinusoidal position signal of "Attention Is All You Need" (see `SinusoidalSignal`).

    No variables, unless `trainable_scaling`: then `scale` shaped [1] multiplies the signal.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("embedding_dim", 0, "The depth of the position signal.")
        p.Define("min_timescale", 1, "The timescale of the fastest-varying sinusoid.")
        p.Define("max_timescale", 10000, "The timescale of the slowest-varying sinusoid.")
        p.Define(
            "trainable_scaling",
            False,
            "Whether the signal is multiplied by a learned scalar variable `scale`.",
        )
        p.Define("trainable_scaling_init", 1.0, "The initial value of the learned scale.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not isinstance(p.embedding_dim, int) or p.embedding_dim <= 0:
            raise ValueError(f"{self}: embedding_dim must be a positive int, got {p.embedding_dim}")
        if not 0 < p.min_timescale <= p.max_timescale:
            raise ValueError(
                f"{self}: need 0 < min_timescale <= max_timescale, got "
                f"{p.min_timescale} and {p.max_timescale}"
            )

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        if p.trainable_scaling:
            init = weights.WeightInit.Constant(p.trainable_scaling_init)
            self.CreateVariable("scale", weights.WeightParams([1], init, p.dtype))

    def FPropWithPosition(self, theta: NestedMap, position_tensor: Any) -> tf.Tensor:
        """Returns the signal at given positions.

        Args:
          theta: This layer's theta (`scale` when `trainable_scaling`).
          position_tensor: Positions shaped [batch, time] (any shape works), e.g. the
            offsets within packed segments.

        Returns:
          Shaped [batch, time, embedding_dim], in `fprop_dtype`.
        """
        p = self.params
        signal = SinusoidalSignal(
            position_tensor, p.embedding_dim, float(p.min_timescale), float(p.max_timescale)
        )
        signal = tf.cast(signal, self.fprop_dtype)
        if p.trainable_scaling:
            signal *= theta.scale
        return signal

    def FProp(self, theta: NestedMap, seq_length: Any) -> tf.Tensor:
        """Returns the signal at positions 0 .. seq_length - 1.

        Args:
          theta: This layer's theta.
          seq_length: An int (or int scalar tensor), the number of positions.

        Returns:
          Shaped [seq_length, embedding_dim].
        """
        return self.FPropWithPosition(theta, tf.range(seq_length))
