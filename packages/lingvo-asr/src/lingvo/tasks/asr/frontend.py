"""The log-mel front end, `MelAsrFrontend`: PCM samples to stacked log-mel frames."""

from __future__ import annotations

import collections
import math
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams
from lingvo.core.nested_map import NestedMap

__all__ = ["FrontendConfig", "MelAsrFrontend"]

# What a front end tells the layers after it; Lingvo's namedtuple, same fields.
FrontendConfig = collections.namedtuple(
    "FrontendConfig",
    [
        "is_null",
        "src_type",
        "src_pcm_sample_rate",
        "src_pcm_scale",
        "output_dim",
        "input_frame_ratio",
    ],
)


def _NextPowerOfTwo(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(n))) if n > 1 else 1


class MelAsrFrontend(base_layer.BaseLayer):
    """Lingvo's log-mel speech front end, with context stacking.

    With PCM scaled to +-32768 (16-bit units), per utterance:

    1. frames of `frame_size = round(sample_rate * frame_size_ms / 1000) + 1` samples every
       `frame_step = round(sample_rate * frame_step_ms / 1000)` (the extra sample feeds the
       pre-emphasis);
    2. pre-emphasis inside each frame, `x[1:] - preemph * x[:-1]` (with preemph 0 the last
       sample is dropped instead);
    3. Gaussian dither of standard deviation `noise_scale` (training and evaluation alike,
       as in Lingvo; set 0 for deterministic features);
    4. a periodic Hann window of `frame_size - 1` samples;
    5. the magnitude (the power with `compute_energy`) of an FFT of `fft_size` points,
       `max(512, next_pow2(frame_size - 1))`, doubled with `fft_overdrive`;
    6. a mel filter bank of `num_bins` bins between the edge frequencies;
    7. `log(max(output_floor, mel))`, then `(x - per_bin_mean) / per_bin_stddev`;
    8. optional stacking: `stack_left_context` frames before and `stack_right_context`
       after each frame (the edges repeat the first / last frame), one stacked frame every
       `frame_stride`.

    The output paddings frame the input paddings the same way and take the max, so a frame
    (and a stacked frame) is padded when any sample it reads is. No variables.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the front-end params with Lingvo's defaults."""
        p = super().Params()
        p.name = "frontend"
        p.Define("sample_rate", 16000.0, "The sample rate of the input PCM in Hz.")
        p.Define("frame_size_ms", 25.0, "The length of one analysis frame in milliseconds.")
        p.Define("frame_step_ms", 10.0, "The step between analysis frames in milliseconds.")
        p.Define("num_bins", 80, "The number of mel bins of each frame.")
        p.Define("lower_edge_hertz", 125.0, "The lowest frequency of the mel filter bank.")
        p.Define("upper_edge_hertz", 7600.0, "The highest frequency of the mel filter bank.")
        p.Define("preemph", 0.97, "The pre-emphasis coefficient applied inside each frame.")
        p.Define(
            "noise_scale",
            8.0,
            "The standard deviation, in 16-bit sample units, of the dither added to frames.",
        )
        p.Define("window_fn", "HANNING", "The analysis window: HANNING or None for no window.")
        p.Define("pad_end", False, "Whether the last partial frame is kept, padded with zeros.")
        p.Define(
            "per_bin_mean",
            None,
            "The per-bin means subtracted from the log-mel frames; None subtracts 0.",
        )
        p.Define(
            "per_bin_stddev",
            None,
            "The per-bin standard deviations dividing the log-mel frames; None divides by 1.",
        )
        p.Define("stack_left_context", 0, "The number of earlier frames stacked onto each frame.")
        p.Define("stack_right_context", 0, "The number of later frames stacked onto each frame.")
        p.Define("frame_stride", 1, "The step, in frames, between stacked output frames.")
        p.Define("fft_overdrive", True, "Whether the FFT is twice the next power of two.")
        p.Define("output_floor", 1.0, "The floor of the mel energies before the log.")
        p.Define(
            "compute_energy",
            False,
            "Whether the power spectrum (squared magnitude) is used instead of the magnitude.",
        )
        p.Define(
            "use_divide_stream",
            False,
            "Lingvo's streaming frame layout; not supported, so it must stay False.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.use_divide_stream:
            raise ValueError(f"{self}: use_divide_stream is not supported; expected False")
        if p.window_fn not in ("HANNING", None):
            raise ValueError(f"{self}: window_fn must be 'HANNING' or None, got {p.window_fn!r}")
        for name in ("stack_left_context", "stack_right_context"):
            if not isinstance(p.Get(name), int) or p.Get(name) < 0:
                raise ValueError(f"{self}: {name} must be an int >= 0, got {p.Get(name)!r}")
        if not isinstance(p.frame_stride, int) or p.frame_stride < 1:
            raise ValueError(f"{self}: frame_stride must be an int >= 1, got {p.frame_stride!r}")
        for name in ("per_bin_mean", "per_bin_stddev"):
            value = p.Get(name)
            if value is not None and len(value) != p.num_bins:
                raise ValueError(
                    f"{self}: {name} has {len(value)} entries, expected num_bins={p.num_bins}"
                )

    # ------------------------------------------------------------------ geometry

    @property
    def frame_step(self) -> int:
        """The step between analysis frames in samples."""
        p = self.params
        return round(p.sample_rate * p.frame_step_ms / 1000.0)

    @property
    def frame_size(self) -> int:
        """Samples per analysis frame, including the one consumed by pre-emphasis."""
        p = self.params
        return round(p.sample_rate * p.frame_size_ms / 1000.0) + 1

    @property
    def fft_size(self) -> int:
        """The FFT length."""
        size = max(512, _NextPowerOfTwo(self.frame_size - 1))
        return 2 * size if self.params.fft_overdrive else size

    @property
    def stack_size(self) -> int:
        """How many frames one stacked output frame holds."""
        p = self.params
        return p.stack_left_context + p.stack_right_context + 1

    @property
    def config(self) -> FrontendConfig:
        """Lingvo's front-end config: output depth and the (upstream) frame-ratio formula."""
        output_dim = self.params.num_bins * self.stack_size
        return FrontendConfig(
            is_null=False,
            src_type="pcm",
            src_pcm_sample_rate=16000,
            src_pcm_scale=32768.0,
            output_dim=output_dim,
            input_frame_ratio=self.frame_step * output_dim,
        )

    def NumFrames(self, num_samples: int) -> int:
        """The number of output frames `num_samples` samples give (before stacking)."""
        size, step = self.frame_size, self.frame_step
        if self.params.pad_end:
            return -(-num_samples // step)
        return max(0, 1 + (num_samples - size) // step)

    # ------------------------------------------------------------------ computation

    def _Inputs(self, src_inputs: tf.Tensor, paddings: tf.Tensor | None) -> tuple[Any, Any]:
        """Flattens [B,T], [B,T,1] or [B,T,packet,1] PCM to [B, samples] with paddings."""
        pcm = tf.convert_to_tensor(src_inputs)
        pcm = tf.cast(pcm, tf.float32)
        rank = pcm.shape.rank
        if rank not in (2, 3, 4):
            raise ValueError(
                f"{self}: src_inputs must be [batch, time], [batch, time, 1] or "
                f"[batch, time, packet, 1], got shape {pcm.shape}"
            )
        if paddings is None:
            paddings = tf.zeros(tf.shape(pcm)[:2], tf.float32)
        paddings = tf.cast(tf.convert_to_tensor(paddings), tf.float32)
        if rank == 4:
            packet = tf.shape(pcm)[2]
            paddings = tf.repeat(paddings, packet, axis=1)
        batch = tf.shape(pcm)[0]
        pcm = tf.reshape(pcm, [batch, -1])
        paddings = tf.reshape(paddings, [batch, -1])
        return pcm, paddings

    def _LogMel(self, pcm: tf.Tensor) -> tf.Tensor:
        """[batch, samples] PCM (16-bit units) -> log-mel frames [batch, frames, num_bins]."""
        p = self.params
        frames = tf.signal.frame(pcm, self.frame_size, self.frame_step, pad_end=p.pad_end)
        if p.preemph:
            frames = frames[..., 1:] - p.preemph * frames[..., :-1]
        else:
            frames = frames[..., :-1]
        if p.noise_scale > 0:
            frames += tf.random.normal(tf.shape(frames), stddev=p.noise_scale)
        if p.window_fn == "HANNING":
            frames *= tf.signal.hann_window(self.frame_size - 1, periodic=True)
        spectrum = tf.abs(tf.signal.rfft(frames, [self.fft_size]))
        if p.compute_energy:
            spectrum = tf.square(spectrum)
        mel = tf.tensordot(spectrum, self._MelMatrix(), 1)
        log_mel = tf.math.log(tf.maximum(p.output_floor, mel))
        if p.per_bin_mean is not None:
            log_mel -= tf.constant(p.per_bin_mean, tf.float32)
        if p.per_bin_stddev is not None:
            log_mel /= tf.constant(p.per_bin_stddev, tf.float32)
        return log_mel

    def _MelMatrix(self) -> tf.Tensor:
        """The [fft_size / 2 + 1, num_bins] mel matrix, computed once (it is a constant)."""
        matrix = self.__dict__.get("_mel_matrix")
        if matrix is None:
            p = self.params
            with tf.init_scope():  # eagerly, even when first called while tracing
                matrix = tf.signal.linear_to_mel_weight_matrix(
                    p.num_bins,
                    self.fft_size // 2 + 1,
                    p.sample_rate,
                    p.lower_edge_hertz,
                    p.upper_edge_hertz,
                ).numpy()
            object.__setattr__(self, "_mel_matrix", matrix)
        return tf.constant(matrix)

    def _FramePaddings(self, paddings: tf.Tensor) -> tf.Tensor:
        """1.0 for each frame holding a padded sample (the max over the frame's samples).

        Counted with a running sum (padded samples before each frame's end minus before its
        start) instead of framing the paddings, which copies every sample `frame_size /
        frame_step` times.
        """
        size, step = self.frame_size, self.frame_step
        padded = tf.cast(paddings > 0.0, tf.int32)
        batch, samples = tf.shape(padded)[0], tf.shape(padded)[1]
        if self.params.pad_end:
            num_frames = (samples + step - 1) // step
            extra = tf.maximum(0, (num_frames - 1) * step + size - samples)
            padded = tf.pad(padded, [[0, 0], [0, extra]], constant_values=1)
        else:
            num_frames = tf.maximum(0, 1 + (samples - size) // step)
        running = tf.pad(tf.cumsum(padded, axis=1), [[0, 0], [1, 0]])
        starts = tf.range(num_frames) * step
        count = tf.gather(running, starts + size, axis=1) - tf.gather(running, starts, axis=1)
        return tf.reshape(tf.cast(count > 0, tf.float32), [batch, num_frames])

    def _Stack(self, x: tf.Tensor, paddings: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Stacks context frames; x [B, T, F] -> [B, T', F * stack], paddings [B, T']."""
        p = self.params
        left, right = p.stack_left_context, p.stack_right_context
        if left == 0 and right == 0 and p.frame_stride == 1:
            return x, paddings
        size = self.stack_size

        def Extend(t: tf.Tensor) -> tf.Tensor:
            parts = []
            if left:
                parts.append(tf.repeat(t[:, :1], left, axis=1))
            parts.append(t)
            if right:
                parts.append(tf.repeat(t[:, -1:], right, axis=1))
            return tf.concat(parts, axis=1)

        stacked = tf.signal.frame(Extend(x), size, p.frame_stride, axis=1)  # [B, T', size, F]
        shape = tf.shape(stacked)
        stacked = tf.reshape(stacked, [shape[0], shape[1], size * p.num_bins])
        out_pad = tf.reduce_max(tf.signal.frame(Extend(paddings), size, p.frame_stride), -1)
        return stacked, out_pad

    def FProp(self, theta: NestedMap, input_batch: NestedMap) -> NestedMap:
        """Turns PCM into log-mel features.

        Args:
          theta: This layer's theta (empty).
          input_batch: A `NestedMap` with `src_inputs`, PCM in 16-bit units (scaled by
            32768) shaped [batch, time], [batch, time, 1] or [batch, time, packet, 1], and
            optional `paddings` shaped [batch, time] (1.0 where padded; per packet for
            4-D inputs).

        Returns:
          `NestedMap(src_inputs=[batch, frames, num_bins * stack, 1],
          paddings=[batch, frames])`.
        """
        del theta
        pcm, paddings = self._Inputs(input_batch.src_inputs, input_batch.Get("paddings"))
        log_mel = self._LogMel(pcm)
        out_paddings = self._FramePaddings(paddings)
        log_mel, out_paddings = self._Stack(log_mel, out_paddings)
        return NestedMap(src_inputs=log_mel[..., tf.newaxis], paddings=out_paddings)

    def ExtractFeatures(self, samples: Any) -> Any:
        """Features of one utterance, as `create_asr_features` writes them.

        Args:
          samples: float PCM in [-1, 1) shaped [num_samples] (what `audio.ReadWav` returns).

        Returns:
          A numpy array shaped [frames, num_bins * stack].
        """
        fn = self.__dict__.get("_extract_fn")
        if fn is None:
            # One graph for every length: the eager FProp costs more than the maths here.
            def Extract(pcm: tf.Tensor) -> tf.Tensor:
                out = self.FProp(self.theta, NestedMap(src_inputs=pcm[tf.newaxis] * 32768.0))
                return out.src_inputs[0, :, :, 0]

            fn = tf.function(Extract, input_signature=[tf.TensorSpec([None], tf.float32)])
            object.__setattr__(self, "_extract_fn", fn)
        return fn(tf.convert_to_tensor(samples, tf.float32)).numpy()
