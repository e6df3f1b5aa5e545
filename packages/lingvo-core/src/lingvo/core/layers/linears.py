"""Linear layers: `ProjectionLayer`, `FCLayer` and the multi-layer `FeedForwardNet`."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import activations, base_layer, hyperparams, tensors, weights
from lingvo.core.nested_map import NestedMap

__all__ = ["FCLayer", "FeedForwardNet", "ProjectionLayer"]


class ProjectionLayer(base_layer.BaseLayer):
    """`activation(inputs @ w + b)` over the last dimension, with optional weight norm.

    Variables: `w` shaped [input_dim, output_dim]; `b` shaped [output_dim] when `has_bias`;
    `g` shaped [output_dim] when `weight_norm` (the effective weight is
    `l2_normalize(w, axis=0) * (1 + g)`). Variational noise, when enabled, is added to `w`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("input_dim", None, "The depth of the input (its last dimension).")
        p.Define("output_dim", None, "The depth of the output (its last dimension).")
        p.Define(
            "activation",
            "RELU",
            f"The activation applied to the output; one of {activations.Names()}.",
        )
        p.Define("has_bias", False, "Whether a bias is added before the activation.")
        p.Define("bias_init", 0.0, "The initial value of every bias element.")
        p.Define(
            "weight_norm",
            False,
            "Whether the weight is normalised per output column and scaled by a learned 1 + g.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        for field in ("input_dim", "output_dim"):
            value = p.Get(field)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{self}: {field} must be a positive int, got {value!r}")
        activations.GetFn(p.activation)  # fails early on an unknown name

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        self.CreateVariable(
            "w", weights.WeightParams([p.input_dim, p.output_dim], p.params_init, p.dtype)
        )
        if p.has_bias:
            self.CreateVariable(
                "b",
                weights.WeightParams(
                    [p.output_dim], weights.WeightInit.Constant(p.bias_init), p.dtype
                ),
            )
        if p.weight_norm:
            self.CreateVariable(
                "g", weights.WeightParams([p.output_dim], weights.WeightInit.Constant(0.0), p.dtype)
            )

    def AddGlobalVN(self, theta: NestedMap) -> NestedMap:
        theta = super().AddGlobalVN(theta)
        theta.w = self.AddVN(theta.w, "w")
        return theta

    def FProp(self, theta: NestedMap, inputs: Any, paddings: Any = None) -> tf.Tensor:
        """Projects `inputs`.

        Args:
          theta: This layer's theta (`w`, and `b`, `g` when configured).
          inputs: Shaped [..., input_dim].
          paddings: Optional, shaped [...] or [..., 1]; 1.0 marks padded positions, whose
            outputs are zeroed.

        Returns:
          Shaped [..., output_dim].
        """
        p = self.params
        inputs = self.CheckInputShape(tf.convert_to_tensor(inputs), [..., p.input_dim])
        w = theta.w
        if p.weight_norm:
            w = tf.nn.l2_normalize(w, axis=0) * (1.0 + theta.g)
        # The bias and activation go on the 2-D product, before the leading dimensions come
        # back: there `bias_add` (and a ReLU) fuse into the matmul kernel, and the bias
        # gradient is one `BiasAddGrad` over rows instead of a broadcast sum over [..., o].
        rows = tf.reshape(inputs, [-1, p.input_dim]) if inputs.shape.rank != 2 else inputs
        out = tf.matmul(rows, w)
        if p.has_bias:
            out = tf.nn.bias_add(out, theta.b)
        out = activations.GetFn(p.activation)(out)
        if inputs.shape.rank != 2:
            out = tf.reshape(out, tf.concat([tf.shape(inputs)[:-1], [p.output_dim]], axis=0))
        if paddings is not None:
            out = tensors.ApplyPadding(paddings, out)
        return out


class FCLayer(ProjectionLayer):
    """A fully connected layer: `ProjectionLayer` with a bias, `relu(inputs @ w + b)`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.has_bias = True
        return p


class FeedForwardNet(base_layer.BaseLayer):
    """A stack of projections: `input_dim -> hidden_layer_dims[0] -> ... -> [-1]`.

    Children: `fc`, a list of one projection per entry of `hidden_layer_dims`, built from
    the `projection` template and named `fc_0`, `fc_1`, ...
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("input_dim", None, "The depth of the input (its last dimension).")
        p.Define(
            "hidden_layer_dims",
            [],
            "The output depth of each layer, in order; the last one is the output depth.",
        )
        p.Define(
            "projection",
            FCLayer.Params(),
            "The params template of every layer; input_dim, output_dim and activation are set.",
        )
        p.Define(
            "activation",
            "RELU",
            "The activation of every layer (a name), or a list with one name per layer.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        dims = list(p.hidden_layer_dims)
        if not dims:
            raise ValueError(f"{self}: hidden_layer_dims must not be empty")
        acts = p.activation
        if isinstance(acts, str):
            acts = [acts] * len(dims)
        if len(acts) != len(dims):
            raise ValueError(
                f"{self}: activation has {len(acts)} entries, hidden_layer_dims {len(dims)}"
            )
        fcs = []
        for in_dim, out_dim, act in zip([p.input_dim, *dims[:-1]], dims, acts, strict=True):
            fc = p.projection.Copy()
            fc.Set(input_dim=in_dim, output_dim=out_dim, activation=act)
            fcs.append(fc)
        self.CreateChildren("fc", fcs)

    @property
    def output_dim(self) -> int:
        """The depth of the output, `hidden_layer_dims[-1]`."""
        return self.params.hidden_layer_dims[-1]

    def FProp(self, theta: NestedMap, inputs: Any, paddings: Any = None) -> tf.Tensor:
        """Runs every layer in turn.

        Args:
          theta: This layer's theta; `theta.fc[i]` is the i-th projection's.
          inputs: Shaped [..., input_dim].
          paddings: Optional, shaped [...] or [..., 1]; 1.0 marks padded positions.

        Returns:
          Shaped [..., hidden_layer_dims[-1]].
        """
        out = self.CheckInputShape(tf.convert_to_tensor(inputs), [..., self.params.input_dim])
        for fc, fc_theta in zip(self.fc, theta.fc, strict=True):
            out = fc.FProp(fc_theta, out, paddings)
        return out
