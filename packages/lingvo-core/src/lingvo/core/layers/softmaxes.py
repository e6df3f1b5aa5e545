"""Softmax layers (`SimpleFullSoftmax`, the tied `SharedSoftmaxLayer`) and label smoothing."""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, weights
from lingvo.core.layers import embeddings, fused_xent
from lingvo.core.nested_map import NestedMap

__all__ = [
    "SharedSoftmaxLayer",
    "SimpleFullSoftmax",
    "UniformLabelSmoother",
    "UniformSmoothedXent",
    "UniformSmoothedXentFromLogits",
]


class SimpleFullSoftmax(base_layer.BaseLayer):
    """A full softmax over `num_classes`: `logits = inputs @ W + b`, with cross-entropy.

    Variables, for `i < num_shards`: `weight_i` shaped [input_dim, ceil(num_classes /
    num_shards)] and `bias_i` shaped [ceil(num_classes / num_shards)] (init 0). The dense
    weight is the shards concatenated along classes and cut to `num_classes` columns.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("input_dim", 0, "The depth of the input (its last dimension).")
        p.Define("num_classes", 0, "The number of classes (the depth of the logits).")
        p.Define("num_shards", 1, "The number of weight and bias shards, split along classes.")
        p.Define(
            "logits_abs_max",
            None,
            "If set, logits are clipped to [-logits_abs_max, logits_abs_max].",
        )
        p.Define(
            "label_smoothing",
            0.0,
            "The uniform label-smoothing weight e: targets are onehot * (1 - e) + e / num_classes.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        for field in ("input_dim", "num_classes", "num_shards"):
            value = p.Get(field)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{self}: {field} must be a positive int, got {value!r}")
        if p.num_shards > p.num_classes:
            raise ValueError(f"{self}: num_shards {p.num_shards} > num_classes {p.num_classes}")
        if not 0.0 <= p.label_smoothing < 1.0:
            raise ValueError(f"{self}: label_smoothing must be in [0, 1), got {p.label_smoothing}")

    @property
    def num_classes_per_shard(self) -> int:
        """The number of columns of each weight shard."""
        p = self.params
        return -(-p.num_classes // p.num_shards)

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        n = self.num_classes_per_shard
        for i in range(p.num_shards):
            self.CreateVariable(
                f"weight_{i}", weights.WeightParams([p.input_dim, n], p.params_init, p.dtype)
            )
            self.CreateVariable(
                f"bias_{i}", weights.WeightParams([n], weights.WeightInit.Constant(0.0), p.dtype)
            )

    def AddGlobalVN(self, theta: NestedMap) -> NestedMap:
        theta = super().AddGlobalVN(theta)
        for i in range(self.params.num_shards):
            theta[f"weight_{i}"] = self.AddVN(theta[f"weight_{i}"], f"weight_{i}")
        return theta

    def _Where(self) -> str:
        return f"{type(self).__name__} {self.path!r}"

    def DenseWeights(self, theta: NestedMap) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns `(weight, bias)` shaped [input_dim, num_classes] and [num_classes]."""
        p = self.params
        w = tf.concat([theta[f"weight_{i}"] for i in range(p.num_shards)], axis=1)
        b = tf.concat([theta[f"bias_{i}"] for i in range(p.num_shards)], axis=0)
        if self.num_classes_per_shard * p.num_shards == p.num_classes:
            return w, b  # nothing to cut (a slice would cost a copy and its gradient)
        return w[:, : p.num_classes], b[: p.num_classes]

    def _Inputs(self, inputs: Any) -> tf.Tensor:
        if isinstance(inputs, (list, tuple)):  # Lingvo accepts a list, concatenated
            inputs = tf.concat([tf.convert_to_tensor(x) for x in inputs], axis=-1)
        inputs = self._CastToFPropDtype(tf.convert_to_tensor(inputs))
        return self.CheckInputShape(inputs, [..., self.params.input_dim])

    def Logits(self, theta: NestedMap, inputs: Any) -> tf.Tensor:
        """Returns the logits.

        Args:
          theta: This layer's theta.
          inputs: Shaped [..., input_dim], or a list of tensors concatenated to that.

        Returns:
          Shaped [..., num_classes].
        """
        p = self.params
        w, b = self.DenseWeights(theta)
        inputs = self._Inputs(inputs)
        # One 2-D matmul with `bias_add`: the bias fuses into the matmul kernel and its
        # gradient is one `BiasAddGrad` over rows, not a broadcast sum over [..., classes].
        rows = tf.reshape(inputs, [-1, p.input_dim]) if inputs.shape.rank != 2 else inputs
        logits = tf.nn.bias_add(tf.matmul(rows, w), b)
        if inputs.shape.rank != 2:
            shape = tf.concat([tf.shape(inputs)[:-1], [p.num_classes]], axis=0)
            logits = tf.reshape(logits, shape)
        if p.logits_abs_max is not None:
            logits = tf.clip_by_value(logits, -p.logits_abs_max, p.logits_abs_max)
        return logits

    def _Squeeze(self, x: tf.Tensor, batch_shape: tf.TensorShape, what: str) -> tf.Tensor:
        """Accepts `x` shaped like the batch ([...]) or with a trailing 1 ([..., 1])."""
        if x.shape.rank == batch_shape.rank + 1:
            self.CheckInputShape(x, [*batch_shape, 1], what)
            x = tf.squeeze(x, -1)
        return self.CheckInputShape(x, batch_shape, what)

    def _ClassIds(self, class_ids: Any, batch_shape: tf.TensorShape) -> tf.Tensor:
        """Returns `class_ids` as an integer tensor shaped like the batch."""
        class_ids = tf.convert_to_tensor(class_ids)
        if not class_ids.dtype.is_integer:
            raise ValueError(
                f"{self._Where()}: class_ids must be integers, got {class_ids.dtype.name}"
            )
        return self._Squeeze(class_ids, batch_shape, "class_ids")

    def _ClassWeights(
        self, class_weights: Any, batch_shape: tf.TensorShape, dtype: tf.dtypes.DType
    ) -> tf.Tensor:
        """Returns `class_weights` as a `dtype` tensor shaped like the batch."""
        class_weights = tf.cast(tf.convert_to_tensor(class_weights), dtype)
        return self._Squeeze(class_weights, batch_shape, "class_weights")

    def _XentTotals(
        self, per_example_xent: tf.Tensor, class_weights: tf.Tensor, per_example_argmax: tf.Tensor
    ) -> NestedMap:
        """Returns the per-example fields and the weighted totals of `FProp`'s output."""
        total_xent = tf.reduce_sum(per_example_xent * class_weights)
        total_weight = tf.reduce_sum(class_weights)
        return NestedMap(
            per_example_xent=per_example_xent,
            per_example_weight=class_weights,
            per_example_argmax=per_example_argmax,
            total_xent=total_xent,
            total_weight=total_weight,
            avg_xent=total_xent / tf.maximum(total_weight, 1e-6),
        )

    def XentLossFromLogits(
        self,
        logits: tf.Tensor,
        class_weights: Any,
        class_ids: Any = None,
        class_probabilities: Any = None,
    ) -> NestedMap:
        """Computes the cross-entropy fields from `logits` (see `FProp`)."""
        p = self.params
        batch_shape = logits.shape[:-1]
        class_weights = self._ClassWeights(class_weights, batch_shape, logits.dtype)
        if (class_ids is None) == (class_probabilities is None):
            raise ValueError(f"{self._Where()}: give exactly one of class_ids, class_probabilities")
        if class_probabilities is not None:
            targets = tf.cast(tf.convert_to_tensor(class_probabilities), logits.dtype)
            targets = self.CheckInputShape(
                targets, [*batch_shape, p.num_classes], "class_probabilities"
            )
        else:
            class_ids = self._ClassIds(class_ids, batch_shape)
            targets = None
            if p.label_smoothing > 0:
                eps = p.label_smoothing
                onehot = tf.one_hot(class_ids, p.num_classes, dtype=logits.dtype)
                targets = onehot * (1.0 - eps) + eps / p.num_classes
        log_probs = tf.nn.log_softmax(logits)
        if targets is None:
            per_example_xent = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.cast(class_ids, tf.int32), logits=logits
            )
        else:
            per_example_xent = -tf.reduce_sum(tf.stop_gradient(targets) * log_probs, axis=-1)
        out = NestedMap(logits=logits, log_probs=log_probs)
        argmax = tf.stop_gradient(tf.argmax(logits, -1, output_type=tf.int32))
        out.update(self._XentTotals(per_example_xent, class_weights, argmax))
        return out

    def FProp(
        self,
        theta: NestedMap,
        inputs: Any,
        class_weights: Any,
        class_ids: Any = None,
        class_probabilities: Any = None,
    ) -> NestedMap:
        """Computes logits and the weighted cross-entropy against ids or a distribution.

        Args:
          theta: This layer's theta.
          inputs: Shaped [..., input_dim], or a list of tensors concatenated to that.
          class_weights: Shaped [...] or [..., 1]; each example's weight (0 for padding).
          class_ids: Integer labels shaped [...] or [..., 1], each in [0, num_classes);
            smoothed by `label_smoothing` when that is set.
          class_probabilities: Target distributions shaped [..., num_classes], used as given.
            Exactly one of `class_ids` and `class_probabilities` is needed.

        Returns:
          A `NestedMap` with `logits` and `log_probs` shaped [..., num_classes];
          `per_example_xent`, `per_example_weight` (float) and `per_example_argmax` (int32)
          shaped [...]; scalars `total_xent` (sum of weighted xent), `total_weight` (sum of
          weights) and `avg_xent = total_xent / max(total_weight, 1e-6)`.

        Raises:
          ValueError: On a wrong input depth, mismatched shapes, or both or neither targets.
        """
        logits = self.Logits(theta, inputs)
        return self.XentLossFromLogits(logits, class_weights, class_ids, class_probabilities)


class SharedSoftmaxLayer(SimpleFullSoftmax):
    """A softmax whose weights also serve as the embedding table (tied embeddings).

    `EmbLookup(theta, ids)` returns column `id` of the dense weight [input_dim,
    num_classes], times sqrt(input_dim) when `scale_sqrt_depth`; the same variables
    compute the logits. Build one and use it both as the embedding and as the softmax.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define(
            "scale_sqrt_depth",
            False,
            "Whether looked-up embeddings are multiplied by sqrt(input_dim).",
        )
        p.Define(
            "embedding_dim",
            0,
            "The embedding depth; must equal input_dim when set (0: input_dim).",
        )
        p.Define("vocab_size", 0, "The vocabulary size; must equal num_classes when set.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.embedding_dim not in (0, p.input_dim):
            raise ValueError(f"{self}: embedding_dim {p.embedding_dim} != input_dim {p.input_dim}")
        if p.vocab_size not in (0, p.num_classes):
            raise ValueError(f"{self}: vocab_size {p.vocab_size} != num_classes {p.num_classes}")

    def EmbLookup(self, theta: NestedMap, ids: Any) -> tf.Tensor:
        """Looks up the embeddings of `ids` in the transposed softmax weight.

        Args:
          theta: This layer's theta.
          ids: Integer ids shaped [...], each in [0, num_classes).

        Returns:
          Shaped [..., input_dim].
        """
        p = self.params
        w, _ = self.DenseWeights(theta)
        out = embeddings.LookupIds(self._Where(), tf.transpose(w), ids, p.num_classes)
        if p.scale_sqrt_depth:
            out *= math.sqrt(p.input_dim)
        return out


def UniformSmoothedXent(
    log_probs: tf.Tensor, labels: tf.Tensor, uncertainty: float, num_classes: int
) -> tf.Tensor:
    """Cross-entropy against uniformly smoothed labels, without building the distribution.

    The smoothed target puts `1 - uncertainty` on the label and `uncertainty / (V - 1)` on
    each of the other `V = num_classes` classes (Lingvo's `UniformLabelSmoother`).

    Args:
      log_probs: Shaped [..., num_classes].
      labels: Integer labels shaped [...].
      uncertainty: The probability mass spread over the other classes, in [0, 1).
      num_classes: The number of classes V (at least 2).

    Returns:
      Shaped [...].
    """
    nll = -tf.gather(log_probs, labels, batch_dims=labels.shape.rank)
    others = -tf.reduce_sum(log_probs, axis=-1) - nll
    return (1.0 - uncertainty) * nll + uncertainty / (num_classes - 1) * others


def UniformSmoothedXentFromLogits(
    logits: tf.Tensor, labels: tf.Tensor, uncertainty: float, num_classes: int
) -> tf.Tensor:
    """`UniformSmoothedXent(log_softmax(logits), ...)` in two XLA-fused passes.

    The same cross-entropy (equal up to float rounding) from `fused_xent.SmoothedSoftmaxXent`:
    the loss in one pass over the logits and its gradient (softmax minus targets) in one
    more, so training does not keep `log_softmax`, the label gather and the sum over
    classes, nor back-propagate through each of them over [..., num_classes].

    Args:
      logits: Shaped [..., num_classes].
      labels: Integer labels shaped [...].
      uncertainty: The probability mass spread over the other classes, in [0, 1).
      num_classes: The number of classes V (at least 2): the depth of `logits`.

    Returns:
      Shaped [...].

    Raises:
      ValueError: If `logits`' depth is known and is not `num_classes`.
    """
    depth = logits.shape[-1]
    if depth is not None and depth != num_classes:
        raise ValueError(f"logits have {depth} classes, expected num_classes={num_classes}")
    rows = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
    xent = fused_xent.SmoothedSoftmaxXent(rows, tf.reshape(labels, [-1]), uncertainty)[0]
    return tf.reshape(xent, tf.shape(labels))


class UniformLabelSmoother(base_layer.BaseLayer):
    """Uniform label smoothing: 1 - uncertainty on the label, uncertainty / (V - 1) elsewhere."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the smoother params."""
        p = super().Params()
        p.Define("num_classes", 0, "The number of classes (the vocabulary size V).")
        p.Define("uncertainty", 0.1, "The probability mass spread over the other classes.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not isinstance(p.num_classes, int) or p.num_classes < 2:
            raise ValueError(f"{self}: num_classes must be an int >= 2, got {p.num_classes!r}")
        if not 0.0 <= p.uncertainty < 1.0:
            raise ValueError(f"{self}: uncertainty must be in [0, 1), got {p.uncertainty!r}")

    def SmoothedXent(self, log_probs: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """Returns `UniformSmoothedXent` with this smoother's uncertainty and classes.

        Args:
          log_probs: Shaped [..., num_classes].
          labels: Integer labels shaped [...].

        Returns:
          Shaped [...].
        """
        p = self.params
        return UniformSmoothedXent(log_probs, labels, p.uncertainty, p.num_classes)

    def SmoothedXentFromLogits(self, logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """`SmoothedXent` of `log_softmax(logits)`, by the fused kernel (cheaper to train).

        Args:
          logits: Shaped [..., num_classes].
          labels: Integer labels shaped [...].

        Returns:
          Shaped [...].
        """
        p = self.params
        return UniformSmoothedXentFromLogits(logits, labels, p.uncertainty, p.num_classes)

    def FProp(self, theta: NestedMap, target_paddings: Any, target_labels: Any) -> tf.Tensor:
        """Returns the smoothed target distributions shaped [..., num_classes]."""
        del theta, target_paddings
        p = self.params
        onehot = tf.one_hot(target_labels, p.num_classes, dtype=self.fprop_dtype)
        other = p.uncertainty / (p.num_classes - 1)
        return onehot * (1.0 - p.uncertainty - other) + other
