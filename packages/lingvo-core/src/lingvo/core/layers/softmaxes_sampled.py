"""Sampled softmax for large vocabularies: `SampledSoftmax` (Lingvo's `num_sampled > 0`)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import hyperparams, run_mode, weights
from lingvo.core.layers import candidate_sampling, softmaxes
from lingvo.core.nested_map import NestedMap

__all__ = ["SampledSoftmax"]

_MAX_SEED = 2**31 - 1


class SampledSoftmax(softmaxes.SimpleFullSoftmax):
    """`SimpleFullSoftmax` that trains on a sampled softmax (Lingvo's `num_sampled > 0`).

    In training, with `class_ids`, the cross-entropy is the sampled softmax loss
    (`tf.nn.sampled_softmax_loss`'s): each step draws `num_sampled` distinct classes from
    the log-uniform (Zipfian) distribution, `P(k) = log((k + 2) / (k + 1)) /
    log(num_classes + 1)`, so class ids must be sorted by decreasing frequency. The true
    class and the sampled ones are scored with their logits minus the log of their expected
    counts, sampled classes equal to the true one are removed, and the loss is the softmax
    cross-entropy over those `1 + num_sampled` scores. `per_example_argmax` is then
    `class_ids`, as in Lingvo. In evaluation (`run_mode.EvalMode()`), with
    `class_probabilities`, or with `num_sampled == 0`, it is exactly `SimpleFullSoftmax`.

    The sampler is stateless (`candidate_sampling.LogUniformCandidates`), keyed by
    `(random_seed + hash(layer path), global step)` like dropout masks: a training step
    compiles under XLA and draws the same candidates eagerly, in `tf.function` and under
    `jit_compile`; every global step draws new ones. Without a registered global step
    (`run_mode.SetGlobalStep`) the step part is 0.

    Variables, for `i < num_shards`: `weight_i` shaped [ceil(num_classes / num_shards),
    input_dim] (class-major, Lingvo's layout when sampling, so a sampled step gathers rows
    without a transpose) and `bias_i` shaped [ceil(num_classes / num_shards)].
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define(
            "num_sampled",
            0,
            "The number of classes sampled per training step; 0 trains on the full softmax.",
        )
        p.Define(
            "full_logits_in_training",
            True,
            "Whether a sampled training step still returns `logits` and `log_probs` over all "
            "classes (as Lingvo does); False leaves them out and saves the full matmul.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not isinstance(p.num_sampled, int) or not 0 <= p.num_sampled < p.num_classes:
            raise ValueError(
                f"{self}: num_sampled must be an int in [0, num_classes={p.num_classes}), "
                f"got {p.num_sampled!r}"
            )

    def _CreateLayerVariables(self) -> None:
        # Deliberately not SimpleFullSoftmax's: the shards are class-major here.
        super(softmaxes.SimpleFullSoftmax, self)._CreateLayerVariables()
        p = self.params
        n = self.num_classes_per_shard
        for i in range(p.num_shards):
            self.CreateVariable(
                f"weight_{i}", weights.WeightParams([n, p.input_dim], p.params_init, p.dtype)
            )
            self.CreateVariable(
                f"bias_{i}", weights.WeightParams([n], weights.WeightInit.Constant(0.0), p.dtype)
            )

    def ClassMajorWeights(self, theta: NestedMap) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns `(weight, bias)` shaped [num_classes, input_dim] and [num_classes]."""
        p = self.params
        w = tf.concat([theta[f"weight_{i}"] for i in range(p.num_shards)], axis=0)
        b = tf.concat([theta[f"bias_{i}"] for i in range(p.num_shards)], axis=0)
        return w[: p.num_classes], b[: p.num_classes]

    def DenseWeights(self, theta: NestedMap) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns `(weight, bias)` shaped [input_dim, num_classes] and [num_classes]."""
        w, b = self.ClassMajorWeights(theta)
        return tf.transpose(w), b

    @property
    def layer_seed(self) -> int:
        """The first word of the sampler's seed: `random_seed` plus a hash of the layer path."""
        base = self.params.random_seed or 0
        return (base + weights.GenerateSeedFromName(self._scope)) % _MAX_SEED

    def SampleCandidates(
        self, class_ids: tf.Tensor, step: Any = None
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Draws the step's candidates with the stateless log-uniform sampler.

        Args:
          class_ids: int64, shaped [n, 1]: the true class of each example.
          step: The step keying the draw (an int or int scalar tensor); None: the global
            step (`run_mode.GetGlobalStep()`, 0 if none is registered).

        Returns:
          `(sampled, true_expected_count, sampled_expected_count)` as
          `tf.random.log_uniform_candidate_sampler(unique=True)` returns them: shaped
          [num_sampled] (int64), [n, 1] and [num_sampled] (float32).
        """
        if step is None:
            step = run_mode.GetGlobalStep()
        step = tf.zeros([], tf.int64) if step is None else tf.cast(step, tf.int64)
        seed = tf.stack([tf.constant(self.layer_seed, tf.int64), step])
        return candidate_sampling.LogUniformCandidates(
            class_ids, self.params.num_sampled, self.params.num_classes, seed
        )

    def SampledXent(
        self,
        theta: NestedMap,
        inputs: tf.Tensor,
        labels: tf.Tensor,
        sampled_values: tuple[tf.Tensor, tf.Tensor, tf.Tensor],
    ) -> tf.Tensor:
        """Returns the sampled softmax cross-entropy of each example (shaped [n]).

        Args:
          theta: This layer's theta.
          inputs: Shaped [n, input_dim].
          labels: int64, shaped [n, 1].
          sampled_values: What `SampleCandidates` returned.
        """
        sampled, true_count, sampled_count = sampled_values
        w, b = self.ClassMajorWeights(theta)
        dtype = inputs.dtype
        ids = labels[:, 0]
        true_logits = tf.reduce_sum(inputs * tf.gather(w, ids), -1) + tf.gather(b, ids)
        true_logits -= tf.math.log(tf.cast(true_count[:, 0], dtype))
        sampled_logits = tf.matmul(inputs, tf.gather(w, sampled), transpose_b=True)
        sampled_logits += tf.gather(b, sampled) - tf.math.log(tf.cast(sampled_count, dtype))
        # Accidental hits: a candidate equal to the example's own class does not compete.
        hits = tf.equal(ids[:, tf.newaxis], sampled[tf.newaxis, :])
        sampled_logits = tf.where(hits, tf.constant(dtype.min, dtype), sampled_logits)
        logits = tf.concat([true_logits[:, tf.newaxis], sampled_logits], axis=1)
        return tf.reduce_logsumexp(logits, axis=1) - true_logits

    def _SampledTrainingStep(self) -> bool:
        return self.params.num_sampled > 0 and not self.do_eval

    def FProp(
        self,
        theta: NestedMap,
        inputs: Any,
        class_weights: Any,
        class_ids: Any = None,
        class_probabilities: Any = None,
    ) -> NestedMap:
        """Computes the (sampled, in training) weighted cross-entropy.

        Args:
          theta: This layer's theta.
          inputs: Shaped [..., input_dim], or a list of tensors concatenated to that.
          class_weights: Shaped [...] or [..., 1]; each example's weight (0 for padding).
          class_ids: Integer labels shaped [...] or [..., 1], each in [0, num_classes).
          class_probabilities: Target distributions shaped [..., num_classes]; these always
            train on the full softmax. Exactly one of the two targets is needed.

        Returns:
          `SimpleFullSoftmax.FProp`'s `NestedMap`. In a sampled training step
          `per_example_xent` is the sampled loss and `per_example_argmax` is `class_ids`;
          `logits` and `log_probs` are left out unless `full_logits_in_training`.

        Raises:
          ValueError: On a wrong input depth, mismatched shapes, or both or neither targets.
        """
        p = self.params
        if class_ids is None or class_probabilities is not None:
            return super().FProp(theta, inputs, class_weights, class_ids, class_probabilities)
        if not self._SampledTrainingStep():
            return super().FProp(theta, inputs, class_weights, class_ids)
        x = self._Inputs(inputs)
        batch_shape = x.shape[:-1]
        class_ids = self._ClassIds(class_ids, batch_shape)
        class_weights = self._ClassWeights(class_weights, batch_shape, x.dtype)
        labels = tf.reshape(tf.cast(class_ids, tf.int64), [-1, 1])
        flat_xent = self.SampledXent(
            theta, tf.reshape(x, [-1, p.input_dim]), labels, self.SampleCandidates(labels)
        )
        per_example_xent = tf.reshape(flat_xent, tf.shape(class_ids))
        out = self._XentTotals(per_example_xent, class_weights, tf.cast(class_ids, tf.int32))
        if p.full_logits_in_training:
            out.logits = self.Logits(theta, x)
            out.log_probs = tf.nn.log_softmax(out.logits)
        return out
