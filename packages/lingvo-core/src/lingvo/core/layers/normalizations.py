"""Normalization layers: `LayerNorm` and the paddings-aware `BatchNormLayer`."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, weights
from lingvo.core.nested_map import NestedMap

__all__ = ["BatchNormLayer", "ComputeMoments", "LayerNorm"]


def _CheckPositiveInt(layer: base_layer.BaseLayer, field: str) -> int:
    value = layer.params.Get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {field} must be a positive int, got {value!r}")
    return value


class LayerNorm(base_layer.BaseLayer):
    """Normalizes the last dimension to zero mean and unit variance, then scales and shifts.

    `out = (x - mean) * rsqrt(variance + epsilon) * (1 + scale) + bias`, the moments taken
    over the last dimension. Variables: `scale` shaped [input_dim], stored as an offset
    from 1 (initialised to 0) unless `direct_scale`, where it is the scale itself
    (initialised to 1); `bias` shaped [input_dim] when `center` (initialised to 0).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("input_dim", None, "The depth of the input (its last dimension).")
        p.Define("epsilon", 1e-6, "The small value added to the variance before rsqrt.")
        p.Define(
            "direct_scale",
            False,
            "Whether the scale variable is the scale itself instead of an offset from 1.",
        )
        p.Define("center", True, "Whether a learned bias is added after scaling.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        _CheckPositiveInt(self, "input_dim")
        if not self.params.epsilon > 0:
            raise ValueError(f"{self}: epsilon must be positive, got {self.params.epsilon!r}")

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        scale_init = 1.0 if p.direct_scale else 0.0
        self.CreateVariable(
            "scale",
            weights.WeightParams([p.input_dim], weights.WeightInit.Constant(scale_init), p.dtype),
        )
        if p.center:
            self.CreateVariable(
                "bias",
                weights.WeightParams([p.input_dim], weights.WeightInit.Constant(0.0), p.dtype),
            )

    def FProp(self, theta: NestedMap, inputs: Any) -> tf.Tensor:
        """Normalizes `inputs` over its last dimension.

        Args:
          theta: This layer's theta (`scale`, and `bias` when `center`).
          inputs: Shaped [..., input_dim].

        Returns:
          Shaped [..., input_dim].
        """
        p = self.params
        inputs = self.CheckInputShape(tf.convert_to_tensor(inputs), [..., p.input_dim])
        mean, variance = tf.nn.moments(inputs, axes=[-1], keepdims=True)
        scale = theta.scale if p.direct_scale else 1.0 + theta.scale
        out = (inputs - mean) * tf.math.rsqrt(variance + p.epsilon) * scale
        if p.center:
            out += theta.bias
        return out


def ComputeMoments(
    inputs: tf.Tensor, paddings: tf.Tensor | None, reduce_over_dims: list[int]
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Returns `(mean, variance, count)` of `inputs` over unpadded positions.

    Args:
      inputs: Shaped [..., dim].
      paddings: Broadcastable to `inputs` (e.g. [batch, time, 1, 1] for
        [batch, time, freq, dim]); 1.0 marks positions left out of the statistics. None:
        every position counts.
      reduce_over_dims: The axes reduced over (usually all but the last).

    Returns:
      `mean` and `variance` shaped [dim], and the number of counted positions (a scalar
      float, at least 1 so an all-padded batch gives zeros rather than NaN).
    """
    weight = tf.ones_like(inputs) if paddings is None else 1.0 - tf.cast(paddings, inputs.dtype)
    weight = tf.broadcast_to(weight, tf.shape(inputs))
    count = tf.maximum(tf.reduce_sum(weight, axis=reduce_over_dims), 1.0)
    mean = tf.reduce_sum(inputs * weight, axis=reduce_over_dims) / count
    # Two passes: sum((x - mean)^2) keeps the variance non-negative and accurate.
    variance = tf.reduce_sum(tf.square(inputs - mean) * weight, axis=reduce_over_dims) / count
    return mean, variance, count


class BatchNormLayer(base_layer.BaseLayer):
    """Batch normalization over every axis but the last, skipping padded positions.

    Training (outside `run_mode.EvalMode()`): normalizes with the moments of the unpadded
    positions of the batch and moves `moving_mean`/`moving_variance` towards them,
    `moving -= (moving - batch) * (1 - decay)`. Evaluation: normalizes with the moving
    statistics and leaves them alone. `out = (x - mean) * rsqrt(var + epsilon) * gamma + beta`,
    where `gamma` is the variable plus 1 (both initialised to 0) unless `gamma_zero_init`,
    where the variable is the scale itself, initialised to 0.

    Trainable variables (`vars`): `beta`, `gamma` shaped [dim]. The moving statistics
    `moving_mean` (init 0) and `moving_variance` (init 1), shaped [dim], are non-trainable
    state: checkpointed under their names (`<layer>/moving_mean`), present in `theta`, but
    not in `vars`, which holds what a learner trains.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("dim", None, "The depth of the input (its last dimension).")
        p.Define("decay", 0.999, "The decay of the moving mean and variance, in [0, 1).")
        p.Define("epsilon", 0.001, "The small value added to the variance before rsqrt.")
        p.Define(
            "use_moving_avg_in_training",
            False,
            "Whether training also normalizes with the moving statistics instead of the batch's.",
        )
        p.Define(
            "freeze_bn_stats",
            False,
            "Whether the moving statistics are used and kept fixed, in training too.",
        )
        p.Define(
            "gamma_zero_init",
            False,
            "Whether gamma is the scale itself initialised to 0, instead of an offset from 1.",
        )
        p.Define(
            "set_padded_output_to_zero",
            True,
            "Whether outputs at padded positions are zeroed.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        _CheckPositiveInt(self, "dim")
        if not 0.0 <= self.params.decay < 1.0:
            raise ValueError(f"{self}: decay must be in [0, 1), got {self.params.decay!r}")

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        zeros = weights.WeightInit.Constant(0.0)
        self.CreateVariable("beta", weights.WeightParams([p.dim], zeros, p.dtype))
        self.CreateVariable("gamma", weights.WeightParams([p.dim], zeros, p.dtype))
        for name, init in (("moving_mean", 0.0), ("moving_variance", 1.0)):
            var = weights.CreateVariable(
                f"{self._scope}/{name}",
                weights.WeightParams([p.dim], weights.WeightInit.Constant(init), p.dtype),
                trainable=False,
            )
            self.AddExtraTheta(name, var)
            self._Track(name, var)  # checkpointed as `<layer>/<name>`
            object.__setattr__(self, f"_{name}", var)

    @property
    def moving_stats(self) -> NestedMap:
        """The non-trainable state: `moving_mean` and `moving_variance` variables."""
        return NestedMap(moving_mean=self._moving_mean, moving_variance=self._moving_variance)

    def _GetGamma(self, theta: NestedMap) -> tf.Tensor:
        return theta.gamma if self.params.gamma_zero_init else theta.gamma + 1.0

    def FProp(self, theta: NestedMap, inputs: Any, paddings: Any = None) -> tf.Tensor:
        """Normalizes `inputs`; in training also updates the moving statistics.

        Args:
          theta: This layer's theta (`beta`, `gamma`, `moving_mean`, `moving_variance`).
          inputs: Shaped [batch, ..., dim], e.g. [batch, time, dim] or
            [batch, time, freq, dim].
          paddings: Optional, shaped [batch, time] (or any prefix of the input shape, or the
            input shape with its last dimension 1); 1.0 marks padded positions, left out of
            the statistics and (with `set_padded_output_to_zero`) zeroed in the output.

        Returns:
          Shaped like `inputs`.

        Raises:
          ValueError: If the last dimension is not `dim`, or the paddings do not fit.
        """
        p = self.params
        inputs = self.CheckInputShape(tf.convert_to_tensor(inputs), [..., p.dim])
        rank = inputs.shape.rank
        if rank is None or rank < 2:
            raise ValueError(f"{type(self).__name__} {self.path!r}: inputs need rank >= 2")
        if paddings is not None:
            paddings = self._ExpandPaddings(tf.convert_to_tensor(paddings, inputs.dtype), inputs)
        # Read (convert) before this call's update, as Lingvo's deferred update ops do.
        moving_mean = tf.cast(tf.convert_to_tensor(theta.moving_mean), inputs.dtype)
        moving_variance = tf.cast(tf.convert_to_tensor(theta.moving_variance), inputs.dtype)
        use_moving = self.do_eval or p.freeze_bn_stats
        if use_moving:
            mean, variance = moving_mean, moving_variance
        else:
            mean, variance, _ = ComputeMoments(inputs, paddings, list(range(rank - 1)))
            self._UpdateMovingStats(mean, variance)
            if p.use_moving_avg_in_training:
                # The moving statistics normalize; gradients still flow through the batch's.
                mean = moving_mean + mean - tf.stop_gradient(mean)
                variance = moving_variance + variance - tf.stop_gradient(variance)
        out = (inputs - mean) * tf.math.rsqrt(variance + p.epsilon) * self._GetGamma(theta)
        out += theta.beta
        if paddings is not None and p.set_padded_output_to_zero:
            out *= 1.0 - paddings
        return out

    def _ExpandPaddings(self, paddings: tf.Tensor, inputs: tf.Tensor) -> tf.Tensor:
        """Reshapes paddings shaped like a prefix of `inputs` to broadcast against it."""
        pr, ir = paddings.shape.rank, inputs.shape.rank
        if pr is None or pr > ir or pr < 1:
            raise ValueError(
                f"{type(self).__name__} {self.path!r}: paddings shaped {paddings.shape} do not "
                f"fit inputs shaped {inputs.shape}"
            )
        if pr == ir:
            self.CheckInputShape(paddings, [*inputs.shape[:-1], 1], "paddings")
            return paddings
        self.CheckInputShape(paddings, inputs.shape[:pr], "paddings")
        return tf.reshape(paddings, tf.concat([tf.shape(paddings), [1] * (ir - pr)], 0))

    def _UpdateMovingStats(self, mean: tf.Tensor, variance: tf.Tensor) -> None:
        decay = 1.0 - self.params.decay
        for var, value in ((self._moving_mean, mean), (self._moving_variance, variance)):
            value = tf.stop_gradient(tf.cast(value, var.dtype))
            var.assign_sub((var - value) * decay)
