"""Tests of `ProjectionLayer`, `FCLayer`, `FeedForwardNet` and the activations table."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import activations, layers

X = np.arange(24, dtype=np.float32).reshape([2, 3, 4]) / 10.0 - 1.0


def _Proj(**kwargs):
    p = layers.ProjectionLayer.Params().Set(name="proj", input_dim=4, output_dim=3)
    return p.Set(**kwargs).Instantiate()


def test_public_names():
    from lingvo.core.layers import linears

    assert layers.ProjectionLayer is linears.ProjectionLayer
    assert {"FCLayer", "FeedForwardNet", "ProjectionLayer"} <= set(layers.__all__)


def test_projection_math():
    layer = _Proj(activation="NONE")
    assert sorted(layer.vars) == ["w"]
    np.testing.assert_allclose(layer(X), X @ layer.vars.w.numpy(), rtol=1e-5)
    relu = _Proj()
    np.testing.assert_allclose(relu(X), np.maximum(X @ relu.vars.w.numpy(), 0), rtol=1e-5)


def test_fc_has_bias_and_bias_init():
    p = layers.FCLayer.Params().Set(name="fc", input_dim=4, output_dim=3, bias_init=0.25)
    layer = p.Instantiate()
    assert layer.params.has_bias and layer.params.activation == "RELU"
    np.testing.assert_array_equal(layer.vars.b, [0.25] * 3)
    want = np.maximum(X @ layer.vars.w.numpy() + 0.25, 0)
    np.testing.assert_allclose(layer(X), want, rtol=1e-5)


def test_weight_norm():
    layer = _Proj(activation="NONE", weight_norm=True)
    w = layer.vars.w.numpy()
    layer.vars.g.assign([1.0, 0.0, -0.5])
    w_eff = w / np.linalg.norm(w, axis=0) * np.array([2.0, 1.0, 0.5])
    np.testing.assert_allclose(layer(X), X @ w_eff, rtol=1e-5)


def test_paddings_zero_outputs():
    layer = _Proj(activation="NONE")
    paddings = np.array([[0, 0, 1], [0, 1, 1]], np.float32)
    out = layer(X, paddings).numpy()
    np.testing.assert_array_equal(out[paddings == 1], 0.0)
    np.testing.assert_allclose(out[paddings == 0], (X @ layer.vars.w.numpy())[paddings == 0])
    np.testing.assert_array_equal(layer(X, paddings[..., None]), out)


def test_bad_params():
    with pytest.raises(ValueError, match="input_dim must be a positive int"):
        layers.ProjectionLayer.Params().Set(name="p", output_dim=3).Instantiate()
    with pytest.raises(ValueError, match="unknown activation 'NOPE'"):
        _Proj(activation="NOPE")
    p = layers.FeedForwardNet.Params().Set(name="f", input_dim=4, hidden_layer_dims=[3, 2])
    with pytest.raises(ValueError, match="activation has 1 entries, hidden_layer_dims 2"):
        p.Copy().Set(activation=["RELU"]).Instantiate()
    with pytest.raises(ValueError, match="hidden_layer_dims must not be empty"):
        p.Copy().Set(hidden_layer_dims=[]).Instantiate()


def test_feed_forward_net():
    p = layers.FeedForwardNet.Params().Set(
        name="ffn", input_dim=4, hidden_layer_dims=[5, 2], activation=["TANH", "NONE"]
    )
    ffn = p.Instantiate()
    assert [fc.params.name for fc in ffn.fc] == ["fc_0", "fc_1"]
    assert [fc.params.activation for fc in ffn.fc] == ["TANH", "NONE"]
    assert ffn.output_dim == 2
    v = ffn.vars
    h = np.tanh(X @ v.fc[0].w.numpy() + v.fc[0].b.numpy())
    np.testing.assert_allclose(ffn(X), h @ v.fc[1].w.numpy() + v.fc[1].b.numpy(), rtol=1e-5)


def test_projection_template_settings_reach_children():
    p = layers.FeedForwardNet.Params().Set(name="ffn", input_dim=4, hidden_layer_dims=[3])
    p.projection.has_bias = False
    assert sorted(p.Instantiate().fc[0].vars) == ["w"]


@pytest.mark.parametrize("name", activations.Names())
def test_activations_table(name):
    x = tf.constant([-2.0, 0.0, 3.0])
    y = activations.GetFn(name)(x)
    assert y.shape == (3,) and np.isfinite(y).all()
    assert activations.IsSupported(name)


def test_activation_values():
    x = tf.constant([-1.0, 2.0])
    np.testing.assert_allclose(activations.GetFn("RELU")(x), [0.0, 2.0])
    np.testing.assert_allclose(activations.GetFn("SQUARED_RELU")(x), [0.0, 4.0])
    np.testing.assert_allclose(activations.GetFn("NONE")(x), [-1.0, 2.0])
    assert not activations.IsSupported("relu")
