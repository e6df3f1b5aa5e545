"""The speech encoder `AsrEncoder`: SpecAugment, strided convolutions, bidirectional LSTMs."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, weights
from lingvo.core.layers import convolutions, linears, normalizations, rnn_cells, rnn_layers
from lingvo.core.nested_map import NestedMap

__all__ = ["AsrEncoder", "NormalizePerUtterance", "SpecAugmentLayer"]

# Added to each variance before the square root, so that a bin that is (almost) constant
# over an utterance is centred but not blown up into noise.
_NORM_VARIANCE_EPSILON = 1e-3


_VARIANCE_MODES = ("per_bin", "shared")


def NormalizePerUtterance(
    inputs: tf.Tensor, paddings: tf.Tensor, variance: str = "per_bin"
) -> tf.Tensor:
    """Per-utterance mean and variance normalisation of the feature bins (CMVN).

    Args:
      inputs: [batch, time, freq, channels].
      paddings: [batch, time], 1.0 where padded.
      variance: "per_bin" scales every (bin, channel) to variance 1; "shared" divides all
        bins of an utterance by one standard deviation (the root of their mean variance),
        which keeps the bins' relative spread: bins with little energy (e.g. above the
        band of 8 kHz audio) stay small instead of becoming unit-variance noise.

    Returns:
      `inputs` with each (utterance, bin, channel) shifted to mean 0 over the utterance's
      unpadded frames, then scaled; padded frames are 0. An utterance without unpadded
      frames comes out as zeros.

    Raises:
      ValueError: If `variance` is not one of the modes.
    """
    if variance not in _VARIANCE_MODES:
        raise ValueError(f"NormalizePerUtterance: variance must be one of {_VARIANCE_MODES}")
    weights = (1.0 - tf.cast(paddings, inputs.dtype))[:, :, None, None]
    count = tf.maximum(tf.reduce_sum(weights, axis=1, keepdims=True), 1.0)
    mean = tf.reduce_sum(inputs * weights, axis=1, keepdims=True) / count
    centred = (inputs - mean) * weights
    var = tf.reduce_sum(tf.square(centred), axis=1, keepdims=True) / count
    if variance == "shared":
        var = tf.reduce_mean(var, axis=[2, 3], keepdims=True)
    return centred * tf.math.rsqrt(var + _NORM_VARIANCE_EPSILON)


class SpecAugmentLayer(base_layer.BaseLayer):
    """SpecAugment's frequency and time masking, at training time only (no variables).

    Each utterance gets `freq_mask_count` bands of up to `freq_mask_max_bins` bins and
    `time_mask_count` spans of up to `time_mask_max_frames` frames (at most
    `time_mask_max_ratio` of its unpadded length) set to zero.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the masking params (Librispeech's SpecAugment policy by default)."""
        p = super().Params()
        p.Define("freq_mask_max_bins", 27, "The widest frequency mask, in bins.")
        p.Define("freq_mask_count", 2, "The number of frequency masks per utterance.")
        p.Define("time_mask_max_frames", 40, "The longest time mask, in frames.")
        p.Define("time_mask_count", 2, "The number of time masks per utterance.")
        p.Define(
            "time_mask_max_ratio",
            1.0,
            "The longest time mask as a fraction of the utterance's unpadded length.",
        )
        return p

    def _Masks(self, batch, size, lengths, max_width, count) -> tf.Tensor:
        """[batch, size] with 0.0 inside `count` random spans per row, 1.0 elsewhere."""
        keep = tf.ones([batch, size])
        positions = tf.range(size)[tf.newaxis]
        for _ in range(count):
            width = tf.cast(
                tf.random.uniform([batch]) * tf.cast(max_width + 1, tf.float32), tf.int32
            )
            width = tf.minimum(width, lengths)
            start = tf.cast(
                tf.random.uniform([batch]) * tf.cast(lengths - width + 1, tf.float32), tf.int32
            )
            inside = (positions >= start[:, None]) & (positions < (start + width)[:, None])
            keep *= 1.0 - tf.cast(inside, tf.float32)
        return keep

    def FProp(self, theta: NestedMap, inputs: tf.Tensor, paddings: tf.Tensor) -> tf.Tensor:
        """Masks `inputs` [batch, time, freq, channels] (paddings [batch, time])."""
        del theta
        p = self.params
        if self.do_eval:
            return inputs
        shape = tf.shape(inputs)
        batch, time, freq = shape[0], shape[1], shape[2]
        lengths = tf.cast(tf.reduce_sum(1.0 - paddings, axis=1), tf.int32)
        max_time = tf.minimum(
            p.time_mask_max_frames,
            tf.cast(tf.cast(lengths, tf.float32) * p.time_mask_max_ratio, tf.int32),
        )
        time_keep = self._Masks(batch, time, lengths, max_time, p.time_mask_count)
        freq_keep = self._Masks(
            batch, freq, tf.fill([batch], freq), p.freq_mask_max_bins, p.freq_mask_count
        )
        mask = time_keep[:, :, None, None] * freq_keep[:, None, :, None]
        return inputs * tf.cast(mask, inputs.dtype)


class AsrEncoder(base_layer.BaseLayer):
    """Lingvo's speech encoder.

    On `src_inputs` [batch, time, freq, channels] with `paddings` [batch, time]:
    optional per-utterance mean and variance normalisation (`per_utterance_norm`);
    SpecAugment (training only, when `use_specaugment`); `pad_steps` padded zero frames
    appended; `ConvLayer`s (SAME, no bias, batch norm over unpadded frames, ReLU), each
    dividing time by its time stride (an output frame is padded when any frame it covers
    is); [freq, channels] flattened (zero-padded to a multiple of 16); time-major
    bidirectional LSTM layers, with a projection (no bias) + batch norm + ReLU after every
    layer but the last (`project_lstm_output`) and optional residuals; the output
    zeroed where padded.

    Children: `specaugment`, `conv` (list), `rnn` (list of `BidirectionalFRNN`), `proj`
    and `proj_norm` (lists). Lingvo's ConvLSTM blocks, highway skips and layer stacking
    are not implemented (their params must stay off).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the encoder params with Lingvo's class defaults."""
        p = super().Params()
        p.Define(
            "input_shape", [None, None, 80, 3], "The input shape [batch, time, freq, channels]."
        )
        p.Define("pad_steps", 6, "The number of padded zero frames appended to every utterance.")
        p.Define(
            "conv_filter_shapes",
            [(3, 3, 3, 32), (3, 3, 32, 32)],
            "The filter shape [time, freq, in_channels, out_channels] of each conv layer.",
        )
        p.Define(
            "conv_filter_strides",
            [(2, 2), (2, 2)],
            "The stride [time, freq] of each conv layer.",
        )
        p.Define(
            "cnn_tpl",
            convolutions.ConvLayer.Params().Set(batch_norm=True, bias=False, activation="RELU"),
            "The template of every conv layer; its filter shape and stride are set here.",
        )
        p.Define(
            "num_conv_lstm_layers",
            0,
            "Lingvo's ConvLSTM blocks; not implemented, so it must stay 0.",
        )
        p.Define("num_lstm_layers", 3, "The number of bidirectional LSTM layers.")
        p.Define("lstm_cell_size", 256, "The number of units of each direction's LSTM.")
        p.Define(
            "lstm_tpl",
            rnn_cells.LSTMCellSimple.Params().Set(params_init=weights.WeightInit.Uniform(0.1)),
            "The template of every LSTM cell.",
        )
        p.Define(
            "project_lstm_output",
            True,
            "Whether a projection with batch norm and ReLU follows every LSTM layer but the last.",
        )
        p.Define(
            "proj_tpl",
            linears.ProjectionLayer.Params().Set(
                activation="NONE",
                has_bias=False,
                params_init=weights.WeightInit.TruncatedGaussian(0.1),
            ),
            "The template of the projections between LSTM layers.",
        )
        p.Define(
            "residual_start",
            0,
            "The first LSTM layer (1-based, as in Lingvo) with a residual; 0 turns them off.",
        )
        p.Define("residual_stride", 1, "The number of layers a residual connection skips.")
        p.Define(
            "per_utterance_norm",
            False,
            "Whether every bin is normalised to mean 0 and variance 1 over each utterance's "
            "unpadded frames before anything else (not in Lingvo; it removes gain and "
            "channel differences between speakers).",
        )
        p.Define(
            "per_utterance_norm_variance",
            "per_bin",
            "With per_utterance_norm: 'per_bin' (unit variance per bin) or 'shared' (one "
            "scale per utterance); see NormalizePerUtterance.",
        )
        p.Define("use_specaugment", False, "Whether SpecAugment masks the inputs at training.")
        p.Define("specaugment_network", SpecAugmentLayer.Params(), "The SpecAugment params.")
        p.Define("lstm_dropout_prob", 0.0, "Kept for Lingvo params compatibility; must be 0.")
        p.params_init = weights.WeightInit.TruncatedGaussian(0.1)
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.num_conv_lstm_layers:
            raise ValueError(f"{self}: num_conv_lstm_layers is not supported; expected 0")
        if len(p.conv_filter_shapes) != len(p.conv_filter_strides):
            raise ValueError(f"{self}: conv_filter_shapes and conv_filter_strides differ in length")
        freq, channels = p.input_shape[2], p.input_shape[3]
        convs = []
        for i, (shape, stride) in enumerate(
            zip(p.conv_filter_shapes, p.conv_filter_strides, strict=True)
        ):
            if shape[2] != channels:
                raise ValueError(f"{self}: conv {i} takes {shape[2]} channels, gets {channels}")
            cp = p.cnn_tpl.Copy().Set(
                name=f"conv_L{i}", filter_shape=tuple(shape), filter_stride=tuple(stride)
            )
            if weights.IsDefaultParamInit(cp.params_init):
                cp.params_init = p.params_init.Copy()
            convs.append(cp)
            freq, channels = -(-freq // stride[1]), shape[3]
        self.CreateChildren("conv", convs)
        object.__setattr__(self, "_conv_dim", freq * channels)
        object.__setattr__(self, "_rnn_input_dim", -(-freq * channels // 16) * 16)
        rnns, projs, norms = [], [], []
        for i in range(p.num_lstm_layers):
            in_dim = self._rnn_input_dim if i == 0 else 2 * p.lstm_cell_size
            cell = p.lstm_tpl.Copy().Set(num_input_nodes=in_dim, num_output_nodes=p.lstm_cell_size)
            rnns.append(
                rnn_layers.BidirectionalFRNN.Params().Set(
                    name=f"bidi_rnn_L{i}", fwd=cell.Copy(), bak=cell.Copy()
                )
            )
            if p.project_lstm_output and i < p.num_lstm_layers - 1:
                dim = 2 * p.lstm_cell_size
                projs.append(
                    p.proj_tpl.Copy().Set(name=f"proj_L{i}", input_dim=dim, output_dim=dim)
                )
                norms.append(
                    normalizations.BatchNormLayer.Params().Set(name=f"proj_bn_L{i}", dim=dim)
                )
        self.CreateChildren("rnn", rnns)
        self.CreateChildren("proj", projs)
        self.CreateChildren("proj_norm", norms)
        if p.use_specaugment:
            self.CreateChild("specaugment", p.specaugment_network.Copy())

    @property
    def output_dim(self) -> int:
        """The depth of `encoded`: 2 * lstm_cell_size."""
        return 2 * self.params.lstm_cell_size

    @property
    def time_reduction(self) -> int:
        """How many input frames one output frame covers: the product of time strides."""
        out = 1
        for s in self.params.conv_filter_strides:
            out *= s[0]
        return out

    def FProp(self, theta: NestedMap, batch: NestedMap, state0: Any = None) -> NestedMap:
        """Encodes a batch of feature sequences.

        Args:
          theta: This layer's theta.
          batch: A `NestedMap` with `src_inputs` shaped [batch, time, freq, channels] and
            `paddings` shaped [batch, time] (1.0 where padded).
          state0: Unused; kept for Lingvo's signature.

        Returns:
          `NestedMap(encoded=[time', batch, 2 * lstm_cell_size], padding=[time', batch])`
          with time' = ceil((time + pad_steps) / time_reduction).
        """
        del state0
        p = self.params
        x = self._CastToFPropDtype(tf.convert_to_tensor(batch.src_inputs))
        x = self.CheckInputShape(x, [None, None, p.input_shape[2], p.input_shape[3]])
        paddings = tf.cast(batch.paddings, x.dtype)
        if p.per_utterance_norm:
            x = NormalizePerUtterance(x, paddings, p.per_utterance_norm_variance)
        if p.use_specaugment:
            x = self.specaugment.FProp(theta.specaugment, x, paddings)
        if p.pad_steps:
            x = tf.pad(x, [[0, 0], [0, p.pad_steps], [0, 0], [0, 0]])
            paddings = tf.pad(paddings, [[0, 0], [0, p.pad_steps]], constant_values=1.0)
        for conv, conv_theta in zip(self.conv, theta.conv, strict=True):
            x, paddings = conv.FProp(conv_theta, x, paddings)
        shape = tf.shape(x)
        x = tf.reshape(x, [shape[0], shape[1], self._conv_dim])
        if self._rnn_input_dim != self._conv_dim:
            x = tf.pad(x, [[0, 0], [0, 0], [0, self._rnn_input_dim - self._conv_dim]])
        x = tf.transpose(x, [1, 0, 2])
        paddings = tf.transpose(paddings)
        outputs = [x]
        for i in range(p.num_lstm_layers):
            y = self.rnn[i].FProp(theta.rnn[i], x, paddings)
            if i < len(self.proj):
                y = self.proj[i].FProp(theta.proj[i], y)
                y = self.proj_norm[i].FProp(theta.proj_norm[i], y, paddings)
                y = tf.nn.relu(y)
            if p.residual_start > 0 and i + 1 >= p.residual_start:
                skip = outputs[-p.residual_stride]
                if skip.shape[-1] == y.shape[-1]:
                    y += skip
            outputs.append(y)
            x = y
        x *= (1.0 - paddings)[..., tf.newaxis]
        return NestedMap(encoded=x, padding=paddings)
