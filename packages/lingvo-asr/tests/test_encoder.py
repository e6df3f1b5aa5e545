"""AsrEncoder's input stages: per-utterance normalisation and SpecAugment masks."""

import numpy as np
import pytest
import tensorflow as tf

import lingvo.core  # noqa: F401  (registers the core factories)
from lingvo.core import run_mode
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.asr import encoder


def _Batch(seed=0, batch=3, time=50, freq=16):
    rng = np.random.default_rng(seed)
    x = rng.normal(5.0, 3.0, [batch, time, freq, 1]).astype(np.float32)
    x *= rng.uniform(0.2, 4.0, [batch, 1, freq, 1]).astype(np.float32)
    lengths = np.array([time, 31, 9])[:batch]
    paddings = (np.arange(time)[None] >= lengths[:, None]).astype(np.float32)
    return x, paddings, lengths


def test_per_utterance_norm_gives_zero_mean_unit_variance_on_unpadded_frames():
    x, paddings, lengths = _Batch()
    y = encoder.NormalizePerUtterance(tf.constant(x), tf.constant(paddings)).numpy()
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(y[b, :n].mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(y[b, :n].std(axis=0), 1.0, atol=1e-3)
        assert np.all(y[b, n:] == 0.0)
    # Invariant to a gain (a shift in the log domain) and a per-bin scale of an utterance.
    shifted = encoder.NormalizePerUtterance(tf.constant(2.0 * x - 7.0), tf.constant(paddings))
    np.testing.assert_allclose(shifted.numpy(), y, atol=2e-3)  # up to the variance epsilon


def test_per_utterance_norm_leaves_constant_bins_at_zero_and_empty_rows_finite():
    x = np.full([2, 6, 4, 1], 3.5, np.float32)
    paddings = np.array([[0] * 6, [1] * 6], np.float32)
    y = encoder.NormalizePerUtterance(tf.constant(x), tf.constant(paddings)).numpy()
    assert np.all(y == 0.0)


def _SpecAugment(**kw):
    p = encoder.SpecAugmentLayer.Params().Set(name="specaug", **kw)
    return p.Instantiate()


def test_specaugment_masks_bounded_spans_inside_the_utterance():
    x, paddings, lengths = _Batch(time=120, freq=40)
    x = np.abs(x) + 1.0  # nothing is zero before masking
    layer = _SpecAugment(
        freq_mask_max_bins=5, freq_mask_count=2, time_mask_max_frames=10, time_mask_count=2
    )
    tf.random.set_seed(3)
    y = layer.FProp(layer.theta, tf.constant(x), tf.constant(paddings)).numpy()
    masked_any = False
    for b, n in enumerate(lengths):
        zero_frames = np.all(y[b, :, :, 0] == 0.0, axis=1)
        zero_bins = np.all(y[b, :, :, 0] == 0.0, axis=0)
        assert zero_bins.sum() <= 2 * 5
        assert zero_frames.sum() <= 2 * 10 or zero_bins.all()
        assert not zero_frames[n:].any() or zero_bins.all()  # time masks stay unpadded
        kept = ~(zero_frames[:, None] | zero_bins[None, :])
        np.testing.assert_array_equal(y[b, :, :, 0][kept], x[b, :, :, 0][kept])
        masked_any |= zero_bins.any() or zero_frames.any()
    assert masked_any


def test_specaugment_is_deterministic_under_a_seed_and_off_at_eval():
    x, paddings, _ = _Batch(time=80, freq=40)
    layer = _SpecAugment(freq_mask_max_bins=8, time_mask_max_frames=12)
    runs = []
    for seed in (7, 7, 8):
        tf.random.set_seed(seed)
        runs.append(layer.FProp(layer.theta, tf.constant(x), tf.constant(paddings)).numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    with run_mode.EvalMode():
        y = layer.FProp(layer.theta, tf.constant(x), tf.constant(paddings)).numpy()
    np.testing.assert_array_equal(y, x)


def test_time_mask_max_ratio_limits_masks_on_short_utterances():
    x, paddings, _ = _Batch(batch=1, time=40, freq=8)
    x = np.abs(x) + 1.0
    layer = _SpecAugment(
        freq_mask_count=0, time_mask_max_frames=30, time_mask_count=1, time_mask_max_ratio=0.1
    )
    for seed in range(20):
        tf.random.set_seed(seed)
        y = layer.FProp(layer.theta, tf.constant(x), tf.constant(paddings)).numpy()
        assert np.all(y[0, :, :, 0] == 0.0, axis=1).sum() <= 4


def test_encoder_normalises_before_the_convolutions():
    x, paddings, _ = _Batch(freq=16)
    p = encoder.AsrEncoder.Params().Set(
        name="enc",
        input_shape=[None, None, 16, 1],
        conv_filter_shapes=[(3, 3, 1, 4)],
        conv_filter_strides=[(2, 2)],
        num_lstm_layers=1,
        lstm_cell_size=8,
        pad_steps=0,
        per_utterance_norm=True,
    )
    enc = p.Instantiate()
    batch = NestedMap(src_inputs=tf.constant(x), paddings=tf.constant(paddings))
    louder = NestedMap(src_inputs=tf.constant(3.0 * x + 10.0), paddings=tf.constant(paddings))
    a = enc.FProp(enc.theta, batch).encoded.numpy()
    b = enc.FProp(enc.theta, louder).encoded.numpy()
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_shared_variance_keeps_the_bins_relative_spread():
    x, paddings, lengths = _Batch()
    y = encoder.NormalizePerUtterance(tf.constant(x), tf.constant(paddings), "shared").numpy()
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(y[b, :n].mean(axis=0), 0.0, atol=1e-5)
        # One scale per utterance: the bins' stddev ratios are the input's, their mean
        # variance is 1.
        in_std, out_std = x[b, :n].std(axis=0), y[b, :n].std(axis=0)
        np.testing.assert_allclose(out_std / out_std[0], in_std / in_std[0], rtol=1e-4)
        np.testing.assert_allclose(np.mean(np.square(out_std)), 1.0, rtol=1e-3)
        assert np.all(y[b, n:] == 0.0)
    with pytest.raises(ValueError, match="variance must be one of"):
        encoder.NormalizePerUtterance(tf.constant(x), tf.constant(paddings), "global")
