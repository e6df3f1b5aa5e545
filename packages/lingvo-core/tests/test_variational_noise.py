"""Tests of variational noise params, `AddVN` and VN on a layer's theta."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers, py_utils


def _Proj(vn, **kwargs):
    p = layers.ProjectionLayer.Params().Set(name="proj", input_dim=3, output_dim=2, vn=vn)
    return p.Set(**kwargs).Instantiate()


def test_vn_params_fields_and_defaults():
    vn = py_utils.VariationalNoiseParams(0.1)
    assert vn.GetKeys() == [
        "scale",
        "global_vn",
        "per_step_vn",
        "seed",
        "deterministic",
        "use_uniform_noise",
        "weight_norm_type",
        "weight_norm_stop_grad",
        "start_step",
    ]
    assert py_utils.DefaultVN().scale is None
    assert py_utils.DisableVN().scale == 1.0
    assert py_utils.DefaultVN() != py_utils.DisableVN()


def test_add_vn_is_identity_unless_enabled():
    x = tf.ones([3])
    p = layers.ProjectionLayer.Params()
    assert py_utils.AddVN(p, x) is x
    p.vn = py_utils.VariationalNoiseParams(None, global_vn=True)
    with pytest.raises(ValueError, match="VN scale must be set"):
        py_utils.AddVN(p, x)
    p.vn = py_utils.VariationalNoiseParams(0.1, per_step_vn=True)
    assert py_utils.AddVN(p, x) is x  # per-step noise only where per_step=True
    assert not np.array_equal(py_utils.AddVN(p, x, per_step=True), x)


def test_deterministic_noise_statistics_and_keys():
    p = layers.ProjectionLayer.Params()
    p.vn = py_utils.VariationalNoiseParams(0.5, global_vn=True, seed=3)
    x = tf.zeros([100, 100])
    a = py_utils.AddVN(p, x, name="m/w", step=0).numpy()
    assert abs(a.mean()) < 0.02 and a.std() == pytest.approx(0.5, rel=0.03)
    np.testing.assert_array_equal(a, py_utils.AddVN(p, x, name="m/w", step=0))
    assert not np.array_equal(a, py_utils.AddVN(p, x, name="m/b", step=0))
    assert not np.array_equal(a, py_utils.AddVN(p, x, name="m/w", step=1))
    p.vn.use_uniform_noise = True
    u = py_utils.AddVN(p, x, name="m/w", step=0).numpy()
    assert np.abs(u).max() <= 0.5 and u.std() == pytest.approx(0.5 / np.sqrt(3), rel=0.03)


def test_start_step_and_weight_norm():
    p = layers.ProjectionLayer.Params()
    p.vn = py_utils.VariationalNoiseParams(0.5, global_vn=True, start_step=10)
    x = tf.ones([4])
    np.testing.assert_array_equal(py_utils.AddVN(p, x, step=9), x)
    assert not np.array_equal(py_utils.AddVN(p, x, step=10), x)
    p.vn = py_utils.VariationalNoiseParams(1.0, global_vn=True, weight_norm_type="Linf")
    small = py_utils.AddVN(p, tf.fill([1000], 1e-3)).numpy() - 1e-3
    assert np.abs(small).max() < 1e-2  # noise scaled by max|x| = 1e-3
    p.vn.weight_norm_type = "bogus"
    with pytest.raises(ValueError, match="weight_norm_type"):
        py_utils.AddVN(p, x)


def test_layer_theta_gets_noise_only_when_training():
    vn = py_utils.VariationalNoiseParams(0.1, global_vn=True, seed=1)
    layer = _Proj(vn)
    w = layer.vars.w.numpy()
    noisy = layer.theta.w.numpy()
    assert not np.array_equal(noisy, w)
    assert np.abs(noisy - w).max() < 1.0
    np.testing.assert_array_equal(layer.theta.w, noisy)  # deterministic for one step
    with py_utils.EvalMode():
        assert layer.do_eval
        np.testing.assert_array_equal(layer.theta.w, w)
        with py_utils.EvalMode(False):
            assert not py_utils.IsEvalMode()
    inference = _Proj(vn, is_inference=True)
    np.testing.assert_array_equal(inference.theta.w, inference.vars.w)


def test_noise_follows_the_global_step():
    vn = py_utils.VariationalNoiseParams(0.1, global_vn=True)
    layer = _Proj(vn)
    step = tf.Variable(0, dtype=tf.int64)
    py_utils.SetGlobalStep(step)
    try:
        first = layer.theta.w.numpy()
        step.assign(1)
        assert not np.array_equal(layer.theta.w, first)
        step.assign(0)
        np.testing.assert_array_equal(layer.theta.w, first)
    finally:
        py_utils.SetGlobalStep(None)


def test_children_inherit_vn_and_bias_has_none():
    vn = py_utils.VariationalNoiseParams(0.1, global_vn=True)
    p = layers.FeedForwardNet.Params().Set(name="ffn", input_dim=3, hidden_layer_dims=[4, 2], vn=vn)
    ffn = p.Instantiate()
    theta = ffn.theta
    for fc, fc_theta in zip(ffn.fc, theta.fc, strict=True):
        assert not np.array_equal(fc_theta.w, fc.vars.w)
        np.testing.assert_array_equal(fc_theta.b, fc.vars.b)


def test_noisy_theta_is_equal_under_tf_function_and_xla():
    layer = _Proj(py_utils.VariationalNoiseParams(0.1, global_vn=True))
    x = tf.ones([2, 3])
    eager = layer(x).numpy()
    np.testing.assert_allclose(tf.function(layer.__call__)(x), eager, rtol=1e-5)
    xla = tf.function(layer.__call__, jit_compile=True)(x)
    np.testing.assert_allclose(xla, eager, rtol=1e-5, atol=1e-6)
