"""Time-padded 2-D convolution and pooling: `ConvLayer`, `PoolingLayer`.

Inputs are shaped [batch, time, freq, channels] (images: [batch, height, width,
channels]) with optional `paddings` shaped [batch, time]. Along time, a stride `s`
keeps output frame `j` unpadded only if every input frame `j*s .. j*s+s-1` is unpadded
(the paddings, padded with 1s to a multiple of `s`, max-pooled by windows of `s`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from lingvo.core import activations, base_layer, hyperparams, weights
from lingvo.core.layers import normalizations
from lingvo.core.nested_map import NestedMap

__all__ = ["ComputeConvOutputPaddings", "ConvLayer", "PoolingLayer"]


def ComputeConvOutputPaddings(paddings: tf.Tensor, stride: int) -> tf.Tensor:
    """Returns the paddings of a SAME convolution's output with time stride `stride`.

    Args:
      paddings: Shaped [batch, time]; 1.0 marks padded frames.
      stride: The time stride.

    Returns:
      Shaped [batch, ceil(time / stride)]: output frame j is padded if any input frame in
      `j*stride .. j*stride+stride-1` is padded or lies past the end.
    """
    if stride == 1:
        return paddings
    extra = tf.math.floormod(-tf.shape(paddings)[1], stride)
    padded = tf.pad(paddings, [[0, 0], [0, extra]], constant_values=1.0)
    return tf.reduce_max(tf.reshape(padded, [tf.shape(paddings)[0], -1, stride]), axis=-1)


def _CheckIntList(layer: base_layer.BaseLayer, field: str, length: int) -> list[int]:
    value = layer.params.Get(field)
    ok = isinstance(value, (list, tuple)) and len(value) == length
    if not ok or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValueError(f"{layer}: {field} must be {length} positive ints, got {value!r}")
    return list(value)


def _CheckInputsAndPaddings(
    layer: base_layer.BaseLayer, inputs: Any, paddings: Any, channels: int | None
) -> tuple[tf.Tensor, tf.Tensor | None]:
    inputs = layer._CastToFPropDtype(tf.convert_to_tensor(inputs))
    inputs = layer.CheckInputShape(inputs, [None, None, None, channels])
    if paddings is not None:
        paddings = tf.cast(tf.convert_to_tensor(paddings), inputs.dtype)
        paddings = layer.CheckInputShape(paddings, inputs.shape[:2], "paddings")
    return inputs, paddings


class ConvLayer(base_layer.BaseLayer):
    """A SAME 2-D convolution, then optional bias, batch norm and activation.

    `filter_shape` is [height, width, in_channels, out_channels] (for speech, height is
    time and width frequency). Variables: `w` shaped `filter_shape`; `b` shaped
    [out_channels] when `bias`; child `bn` (a `BatchNormLayer`, statistics over unpadded
    frames) when `batch_norm`. Output frames that are padded are zeroed.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define(
            "filter_shape",
            (0, 0, 0, 0),
            "The filter shape [height, width, in_channels, out_channels].",
        )
        p.Define("filter_stride", (1, 1), "The stride [height (time), width] of the filter.")
        p.Define("dilation_rate", (1, 1), "The dilation [height, width]; needs stride 1 where > 1.")
        p.Define(
            "activation",
            "RELU",
            f"The activation applied last; one of {activations.Names()}.",
        )
        p.Define("bias", False, "Whether a bias is added after the convolution.")
        p.Define("batch_norm", True, "Whether batch normalization follows the convolution.")
        p.Define("bn_decay", 0.999, "The decay of the batch norm's moving statistics.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        _CheckIntList(self, "filter_shape", 4)
        stride = _CheckIntList(self, "filter_stride", 2)
        dilation = _CheckIntList(self, "dilation_rate", 2)
        if any(s > 1 and d > 1 for s, d in zip(stride, dilation, strict=True)):
            raise ValueError(f"{self}: filter_stride {stride} with dilation_rate {dilation}")
        activations.GetFn(p.activation)
        if p.batch_norm:
            bn = normalizations.BatchNormLayer.Params().Set(
                name="bn", dim=p.filter_shape[-1], decay=p.bn_decay
            )
            self.CreateChild("bn", bn)

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        self.CreateVariable("w", weights.WeightParams(list(p.filter_shape), p.params_init, p.dtype))
        if p.bias:
            self.CreateVariable(
                "b",
                weights.WeightParams(
                    [p.filter_shape[-1]], weights.WeightInit.Constant(0.0), p.dtype
                ),
            )

    def AddGlobalVN(self, theta: NestedMap) -> NestedMap:
        theta = super().AddGlobalVN(theta)
        theta.w = self.AddVN(theta.w, "w")
        return theta

    @property
    def output_channels(self) -> int:
        """The number of output channels, `filter_shape[-1]`."""
        return self.params.filter_shape[-1]

    def OutShape(self, in_shape: Sequence[int | None]) -> list[int | None]:
        """Returns the output shape [batch, ceil(time / s0), ceil(freq / s1), out_channels]."""
        s = self.params.filter_stride
        b, t, f = in_shape[:3]
        ceil = [None if d is None else -(-d // k) for d, k in ((t, s[0]), (f, s[1]))]
        return [b, *ceil, self.output_channels]

    def FProp(
        self, theta: NestedMap, inputs: Any, paddings: Any = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Convolves `inputs`.

        Args:
          theta: This layer's theta (`w`, `b` when `bias`, `bn` when `batch_norm`).
          inputs: Shaped [batch, time, freq, in_channels].
          paddings: Optional, shaped [batch, time]; 1.0 marks padded frames. None (images):
            nothing is padded and the output paddings are all 0.

        Returns:
          `(outputs, out_paddings)`: outputs shaped [batch, ceil(time / stride[0]),
          ceil(freq / stride[1]), out_channels], out_paddings shaped
          [batch, ceil(time / stride[0])].

        Raises:
          ValueError: If inputs are not rank 4 with `in_channels` channels, or the paddings
            do not match [batch, time].
        """
        p = self.params
        inputs, paddings = _CheckInputsAndPaddings(self, inputs, paddings, p.filter_shape[2])
        if paddings is not None:
            inputs *= 1.0 - paddings[:, :, tf.newaxis, tf.newaxis]
        out = tf.nn.conv2d(
            inputs,
            theta.w,
            strides=[1, *p.filter_stride, 1],
            padding="SAME",
            dilations=[1, *p.dilation_rate, 1],
        )
        if p.bias:
            out += theta.b
        if paddings is None:  # an image: nothing is padded, not even past the end
            out_paddings = tf.zeros(tf.shape(out)[:2], out.dtype)
        else:
            out_paddings = ComputeConvOutputPaddings(paddings, p.filter_stride[0])
        if p.batch_norm:
            out = self.bn.FProp(theta.bn, out, out_paddings)
        out = activations.GetFn(p.activation)(out)
        if paddings is not None:  # images have none; multiplying by 1 cost 3% of LeNet5's step
            out *= 1.0 - out_paddings[:, :, tf.newaxis, tf.newaxis]
        return out, out_paddings


class PoolingLayer(base_layer.BaseLayer):
    """Max or average pooling over [time, freq] (or [height, width]); no variables."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("window_shape", (2, 2), "The pooling window [height (time), width].")
        p.Define("window_stride", (2, 2), "The pooling stride [height (time), width].")
        p.Define("pooling_type", "MAX", "The pooling kind: 'MAX' or 'AVG'.")
        p.Define("padding_algorithm", "SAME", "The padding algorithm: 'SAME' or 'VALID'.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        _CheckIntList(self, "window_shape", 2)
        _CheckIntList(self, "window_stride", 2)
        if p.pooling_type not in ("MAX", "AVG"):
            raise ValueError(f"{self}: pooling_type must be 'MAX' or 'AVG', got {p.pooling_type!r}")
        if p.padding_algorithm not in ("SAME", "VALID"):
            raise ValueError(
                f"{self}: padding_algorithm must be 'SAME' or 'VALID', got {p.padding_algorithm!r}"
            )

    def FProp(self, theta: NestedMap, inputs: Any, paddings: Any = None) -> Any:
        """Pools `inputs`.

        Args:
          theta: This layer's theta (empty).
          inputs: Shaped [batch, time, freq, channels].
          paddings: Optional, shaped [batch, time]; 1.0 marks padded frames.

        Returns:
          The outputs shaped [batch, time', freq', channels] when `paddings` is None, else
          `(outputs, out_paddings)` with out_paddings shaped [batch, time'] (SAME padding:
          time' = ceil(time / stride[0])); padded output frames are zeroed.
        """
        del theta
        p = self.params
        inputs, paddings = _CheckInputsAndPaddings(self, inputs, paddings, None)
        if paddings is not None and p.pooling_type == "MAX":
            # Padded frames must not win the max: push them far below any real value.
            inputs -= paddings[:, :, tf.newaxis, tf.newaxis] * inputs.dtype.max / 2
        out = tf.nn.pool(
            inputs,
            window_shape=list(p.window_shape),
            pooling_type=p.pooling_type,
            strides=list(p.window_stride),
            padding=p.padding_algorithm,
        )
        if paddings is None:
            return out
        stride = p.window_stride[0]
        out_paddings = ComputeConvOutputPaddings(paddings, stride)
        if p.padding_algorithm == "VALID":
            out_paddings = out_paddings[:, : tf.shape(out)[1]]
        out *= 1.0 - out_paddings[:, :, tf.newaxis, tf.newaxis]
        return out, out_paddings
