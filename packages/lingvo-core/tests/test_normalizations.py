"""Tests of `LayerNorm` and `BatchNormLayer` against numpy."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers, py_utils
from lingvo.core.layers import normalizations

X = np.random.RandomState(3).randn(2, 3, 4).astype(np.float32)
PADDINGS = np.array([[0, 0, 1], [0, 1, 1]], np.float32)


def _NumpyLayerNorm(x, scale, bias, eps=1e-6):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


def test_public_names():
    assert layers.LayerNorm is normalizations.LayerNorm
    assert layers.BatchNormLayer is normalizations.BatchNormLayer


def test_layer_norm_matches_numpy():
    ln = layers.LayerNorm.Params().Set(name="ln", input_dim=4).Instantiate()
    assert ln.params.epsilon == 1e-6
    np.testing.assert_array_equal(ln.vars.scale, np.zeros(4))  # stored as an offset from 1
    np.testing.assert_allclose(ln(X), _NumpyLayerNorm(X, 1.0, 0.0), rtol=1e-5, atol=1e-5)
    ln.vars.scale.assign([0.5, -0.5, 0.0, 1.0])
    ln.vars.bias.assign([1.0, 2.0, 3.0, 4.0])
    want = _NumpyLayerNorm(X, np.array([1.5, 0.5, 1.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(ln(X), want, rtol=1e-5, atol=1e-5)


def test_layer_norm_direct_scale_and_no_center():
    p = layers.LayerNorm.Params().Set(name="ln", input_dim=4, direct_scale=True, center=False)
    ln = p.Instantiate()
    assert sorted(ln.vars) == ["scale"]
    np.testing.assert_array_equal(ln.vars.scale, np.ones(4))
    ln.vars.scale.assign([2.0, 2.0, 2.0, 2.0])
    np.testing.assert_allclose(ln(X), 2 * _NumpyLayerNorm(X, 1.0, 0.0), rtol=1e-5, atol=1e-5)


def test_layer_norm_bad_input():
    ln = layers.LayerNorm.Params().Set(name="ln", input_dim=4).Instantiate()
    with pytest.raises(ValueError, match=r"LayerNorm 'ln': inputs expected shape \[\.\.\., 4\]"):
        ln(np.zeros([2, 3], np.float32))
    with pytest.raises(ValueError, match="input_dim must be a positive int"):
        layers.LayerNorm.Params().Set(name="ln").Instantiate()


def _MaskedMoments(x, paddings):
    w = np.broadcast_to((1 - paddings)[..., None], x.shape)
    mean = (x * w).sum((0, 1)) / w.sum((0, 1))
    var = (((x - mean) ** 2) * w).sum((0, 1)) / w.sum((0, 1))
    return mean, var


def test_batch_norm_training_uses_unpadded_statistics_and_updates_moving_stats():
    bn = layers.BatchNormLayer.Params().Set(name="bn", dim=4, decay=0.9).Instantiate()
    assert sorted(bn.vars) == ["beta", "gamma"]
    assert sorted(bn.theta) == ["beta", "gamma", "moving_mean", "moving_variance"]
    out = bn(X, PADDINGS).numpy()
    mean, var = _MaskedMoments(X, PADDINGS)
    want = (X - mean) / np.sqrt(var + 1e-3) * (1 - PADDINGS)[..., None]
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_stats.moving_mean, 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        bn.moving_stats.moving_variance, 0.9 + 0.1 * var, rtol=1e-5, atol=1e-6
    )
    # Values at padded positions do not matter.
    changed = np.where(PADDINGS[..., None] == 1, 100.0, X).astype(np.float32)
    np.testing.assert_allclose(bn(changed, PADDINGS), out, rtol=1e-4, atol=1e-5)


def test_batch_norm_eval_uses_moving_stats_and_does_not_update():
    bn = layers.BatchNormLayer.Params().Set(name="bn", dim=4).Instantiate()
    bn.moving_stats.moving_mean.assign([1.0, 2.0, 3.0, 4.0])
    bn.moving_stats.moving_variance.assign([4.0, 4.0, 1.0, 1.0])
    bn.vars.gamma.assign([1.0, 0.0, 0.0, 0.0])  # effective gamma 2, 1, 1, 1
    bn.vars.beta.assign([0.5, 0.0, 0.0, 0.0])
    with py_utils.EvalMode():
        out = bn(X).numpy()
    want = (X - [1, 2, 3, 4]) / np.sqrt(np.array([4, 4, 1, 1]) + 1e-3) * [2, 1, 1, 1]
    np.testing.assert_allclose(out, want + np.array([0.5, 0, 0, 0]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_stats.moving_mean, [1.0, 2.0, 3.0, 4.0])


def test_batch_norm_freeze_and_zero_init_and_checkpoint(tmp_path):
    p = layers.BatchNormLayer.Params().Set(
        name="bn", dim=4, freeze_bn_stats=True, gamma_zero_init=True
    )
    bn = p.Instantiate()
    np.testing.assert_array_equal(bn(X), np.zeros_like(X))  # gamma is 0, beta is 0
    np.testing.assert_array_equal(bn.moving_stats.moving_variance, np.ones(4))
    bn.moving_stats.moving_mean.assign([1.0, 2.0, 3.0, 4.0])
    path = tf.train.Checkpoint(model=bn).save(str(tmp_path / "ckpt"))
    other = p.Instantiate()
    tf.train.Checkpoint(model=other).restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(other.moving_stats.moving_mean, [1.0, 2.0, 3.0, 4.0])
    names = sorted(v.name for v in other.non_trainable_variables)
    assert names == ["bn/moving_mean/var:0", "bn/moving_variance/var:0"]


def test_batch_norm_use_moving_avg_in_training():
    p = layers.BatchNormLayer.Params().Set(name="bn", dim=4, use_moving_avg_in_training=True)
    bn = p.Instantiate()
    bn.moving_stats.moving_mean.assign([1.0, 1.0, 1.0, 1.0])
    out = bn(X)
    np.testing.assert_allclose(out, (X - 1.0) / np.sqrt(1.0 + 1e-3), rtol=1e-5, atol=1e-5)
    assert not np.allclose(bn.moving_stats.moving_mean, 1.0)  # still updated
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(bn(X) ** 2)
    assert all(g is not None for g in tape.gradient(loss, bn.vars.Flatten()))


def test_batch_norm_updates_under_tf_function():
    bn = layers.BatchNormLayer.Params().Set(name="bn", dim=4, decay=0.5).Instantiate()
    step = tf.function(bn.__call__, jit_compile=True)
    step(X)
    step(X)
    mean = X.reshape([-1, 4]).mean(0)
    np.testing.assert_allclose(bn.moving_stats.moving_mean, 0.75 * mean, rtol=1e-5, atol=1e-6)


def test_batch_norm_bad_input():
    bn = layers.BatchNormLayer.Params().Set(name="enc_bn", dim=4).Instantiate()
    with pytest.raises(
        ValueError, match=r"BatchNormLayer 'enc_bn': inputs expected .*got \[2, 3\]"
    ):
        bn(np.zeros([2, 3], np.float32))
    with pytest.raises(
        ValueError, match=r"'enc_bn': paddings expected shape \[2, 3\], got \[2, 4\]"
    ):
        bn(X, np.zeros([2, 4], np.float32))
    with pytest.raises(ValueError, match="decay must be in"):
        layers.BatchNormLayer.Params().Set(name="bn", dim=4, decay=1.0).Instantiate()
