"""Tests of the time-padded `ConvLayer` and `PoolingLayer` against numpy."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers, py_utils
from lingvo.core.layers import convolutions

X = np.random.RandomState(2).randn(2, 5, 4, 2).astype(np.float32)
PADDINGS = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], np.float32)


def _NumpyConvSame(x, w, stride):
    """A direct SAME convolution: x [b, h, w, c], w [kh, kw, c, o]."""
    b, h, wd, _ = x.shape
    kh, kw, _, o = w.shape
    out_h, out_w = -(-h // stride[0]), -(-wd // stride[1])
    pad_h = max((out_h - 1) * stride[0] + kh - h, 0)
    pad_w = max((out_w - 1) * stride[1] + kw - wd, 0)
    xp = np.pad(
        x, [(0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)]
    )
    out = np.zeros([b, out_h, out_w, o], np.float32)
    for i in range(out_h):
        for j in range(out_w):
            patch = xp[:, i * stride[0] : i * stride[0] + kh, j * stride[1] : j * stride[1] + kw]
            out[:, i, j] = np.einsum("bhwc,hwco->bo", patch, w)
    return out


def _Conv(**kwargs):
    p = layers.ConvLayer.Params().Set(name="conv", filter_shape=(3, 3, 2, 4), filter_stride=(2, 1))
    return p.Set(**kwargs).Instantiate()


def test_public_names():
    assert layers.ConvLayer is convolutions.ConvLayer
    assert layers.PoolingLayer is convolutions.PoolingLayer


def test_output_paddings_follow_the_time_stride():
    got = convolutions.ComputeConvOutputPaddings(tf.constant(PADDINGS), 2)
    # Frame 2 covers input frames 4 and a virtual 5th (past the end): padded.
    np.testing.assert_array_equal(got, [[0, 1, 1], [0, 0, 1]])
    np.testing.assert_array_equal(convolutions.ComputeConvOutputPaddings(PADDINGS, 1), PADDINGS)


def test_conv_without_batch_norm_matches_numpy():
    conv = _Conv(batch_norm=False, bias=True, activation="NONE")
    conv.vars.b.assign([0.1, 0.2, 0.3, 0.4])
    out, out_paddings = conv(X)
    want = _NumpyConvSame(X, conv.vars.w.numpy(), (2, 1)) + np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out_paddings, np.zeros([2, 3]))  # no paddings: an image
    # With paddings, the last output frame runs past the end of the input: padded.
    out, out_paddings = conv(X, np.zeros([2, 5], np.float32))
    want[:, 2:] = 0.0
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out_paddings, [[0, 0, 1], [0, 0, 1]])
    assert conv.OutShape([2, 5, 4, 2]) == [2, 3, 4, 4]


def test_conv_zeroes_padded_inputs_and_outputs():
    conv = _Conv(batch_norm=False, filter_stride=(1, 1))
    out, out_paddings = conv(X, PADDINGS)
    masked = X * (1 - PADDINGS)[:, :, None, None]
    want = np.maximum(_NumpyConvSame(masked, conv.vars.w.numpy(), (1, 1)), 0)
    want *= (1 - PADDINGS)[:, :, None, None]
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out_paddings, PADDINGS)


def test_conv_batch_norm_uses_unpadded_frames():
    conv = _Conv(filter_stride=(1, 1), activation="NONE", bn_decay=0.5)
    assert sorted(conv.vars) == ["bn", "w"] and sorted(conv.vars.bn) == ["beta", "gamma"]
    out, _ = conv(X, PADDINGS)
    raw = _NumpyConvSame(X * (1 - PADDINGS)[:, :, None, None], conv.vars.w.numpy(), (1, 1))
    keep = PADDINGS == 0
    mean, var = raw[keep].mean((0, 1)), raw[keep].var((0, 1))
    want = (raw - mean) / np.sqrt(var + 1e-3) * (1 - PADDINGS)[:, :, None, None]
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv.bn.moving_stats.moving_mean, 0.5 * mean, rtol=1e-4, atol=1e-5)
    with py_utils.EvalMode():
        conv(X, PADDINGS)
    np.testing.assert_allclose(conv.bn.moving_stats.moving_mean, 0.5 * mean, rtol=1e-4, atol=1e-5)


def test_lenet_shapes():
    conv = (
        layers.ConvLayer.Params()
        .Set(name="conv0", filter_shape=(5, 5, 1, 20), batch_norm=False)
        .Instantiate()
    )
    pool = layers.PoolingLayer.Params().Set(name="pool0").Instantiate()
    out, _ = conv(tf.ones([2, 8, 8, 1]))
    assert sorted(v.name for v in conv.vars.Flatten()) == ["conv0/w/var:0"]
    assert pool(out).shape == (2, 4, 4, 20)


def test_pooling_matches_numpy():
    x = np.arange(2 * 4 * 4 * 1, dtype=np.float32).reshape([2, 4, 4, 1])
    pool = layers.PoolingLayer.Params().Set(name="pool").Instantiate()
    want = x.reshape([2, 2, 2, 2, 2, 1]).max((2, 4))
    np.testing.assert_array_equal(pool(x), want)
    avg = layers.PoolingLayer.Params().Set(name="pool", pooling_type="AVG").Instantiate()
    np.testing.assert_allclose(avg(x), x.reshape([2, 2, 2, 2, 2, 1]).mean((2, 4)))


def test_pooling_with_paddings():
    pool = layers.PoolingLayer.Params().Set(name="pool").Instantiate()
    out, out_paddings = pool(X, PADDINGS)
    np.testing.assert_array_equal(out_paddings, [[0, 1, 1], [0, 0, 1]])
    full = pool(X).numpy()
    np.testing.assert_array_equal(out[0, 0], full[0, 0])
    np.testing.assert_array_equal(out[0, 1:], 0.0)
    eager = pool(X, PADDINGS)
    xla = tf.function(pool.__call__, jit_compile=True)(X, PADDINGS)
    for a, b in zip(eager, xla, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_bad_inputs_and_params():
    conv = _Conv()
    with pytest.raises(
        ValueError, match=r"ConvLayer 'conv': inputs expected shape \[\?, \?, \?, 2\]"
    ):
        conv(np.zeros([2, 5, 4, 3], np.float32))
    with pytest.raises(
        ValueError, match=r"ConvLayer 'conv': paddings expected shape \[2, 5\], got \[2, 4\]"
    ):
        conv(X, np.zeros([2, 4], np.float32))
    with pytest.raises(ValueError, match="filter_shape must be 4 positive ints"):
        _Conv(filter_shape=(3, 3, 2))
    with pytest.raises(ValueError, match="pooling_type must be 'MAX' or 'AVG'"):
        layers.PoolingLayer.Params().Set(name="pool", pooling_type="MIN").Instantiate()
    pool = layers.PoolingLayer.Params().Set(name="pool").Instantiate()
    with pytest.raises(ValueError, match=r"PoolingLayer 'pool': inputs expected shape"):
        pool(np.zeros([2, 5, 4], np.float32))
