"""Tests of `SimpleEmbeddingLayer` and `PositionalEmbeddingLayer`."""

import math

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers
from lingvo.core.layers import embeddings

IDS = np.array([[0, 4, 2], [3, 3, 1]], np.int32)


def _Emb(**kwargs):
    p = layers.SimpleEmbeddingLayer.Params().Set(name="emb", vocab_size=5, embedding_dim=3)
    return p.Set(**kwargs).Instantiate()


def test_public_names():
    assert layers.SimpleEmbeddingLayer is embeddings.SimpleEmbeddingLayer
    assert layers.PositionalEmbeddingLayer is embeddings.PositionalEmbeddingLayer


def test_lookup_gather_and_matmul_and_scale():
    emb = _Emb()
    table = emb.vars.wm.numpy()
    assert table.shape == (5, 3)
    np.testing.assert_array_equal(emb(IDS), table[IDS])
    np.testing.assert_array_equal(emb.EmbLookup(emb.theta, IDS[0]), table[IDS[0]])
    dense = _Emb(use_matmul=True, scale_sqrt_depth=True)
    np.testing.assert_allclose(dense(IDS), table[IDS] * math.sqrt(3), rtol=1e-6)


def test_gradients_reach_looked_up_rows_only():
    emb = _Emb(use_matmul=True)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(emb(IDS))
    grad = tape.gradient(loss, emb.vars.wm).numpy()
    np.testing.assert_array_equal(grad[:, 0], [1, 1, 1, 2, 1])  # id 3 appears twice


def test_out_of_range_ids_raise_and_are_clamped_under_xla():
    emb = _Emb()
    error = tf.errors.InvalidArgumentError
    for bad in ([5], [-1]):
        with pytest.raises(error, match=r"SimpleEmbeddingLayer .*emb.*: ids must be"):
            emb(tf.constant(bad))
        with pytest.raises(error, match=r"SimpleEmbeddingLayer .*emb.*: ids must be"):
            tf.function(emb.__call__)(tf.constant(bad))
    xla = tf.function(emb.__call__, jit_compile=True)(tf.constant([7, -2]))
    np.testing.assert_array_equal(xla, emb.vars.wm.numpy()[[4, 0]])


def test_bad_inputs_and_params():
    with pytest.raises(ValueError, match=r"SimpleEmbeddingLayer 'emb': ids must be integers"):
        _Emb()(tf.zeros([2, 3]))
    with pytest.raises(ValueError, match="vocab_size must be a positive int"):
        layers.SimpleEmbeddingLayer.Params().Set(name="emb", embedding_dim=3).Instantiate()


def _Pos(**kwargs):
    return layers.PositionalEmbeddingLayer.Params().Set(name="pos", **kwargs).Instantiate()


def test_positional_known_values():
    out = _Pos(embedding_dim=6)(3).numpy()
    assert out.shape == (3, 6)
    np.testing.assert_allclose(out[0], [0, 0, 0, 1, 1, 1], atol=1e-7)
    inv = np.array([1.0, 1e-2, 1e-4])  # 10000 ** (-i / (3 - 1))
    np.testing.assert_allclose(out[1], np.concatenate([np.sin(inv), np.cos(inv)]), rtol=1e-5)
    np.testing.assert_allclose(out[2], np.concatenate([np.sin(2 * inv), np.cos(2 * inv)]), 1e-5)


def test_positional_odd_dim_min_timescale_and_positions():
    out = _Pos(embedding_dim=5, min_timescale=2, max_timescale=8)(2).numpy()
    inv = 2.0 * np.exp(-np.arange(2) * math.log(4.0))  # Lingvo multiplies by min_timescale
    want = np.concatenate([np.sin(inv), np.cos(inv), [0.0]])
    np.testing.assert_allclose(out[1], want, rtol=1e-5)
    pos = _Pos(embedding_dim=4)
    positions = np.array([[0, 1, 2], [0, 0, 1]], np.int32)
    got = pos.FPropWithPosition(pos.theta, positions).numpy()
    table = pos(3).numpy()
    np.testing.assert_allclose(got, table[positions], rtol=1e-6)


def test_positional_trainable_scaling():
    pos = _Pos(embedding_dim=4, trainable_scaling=True, trainable_scaling_init=0.5)
    np.testing.assert_allclose(pos(2), 0.5 * _Pos(embedding_dim=4)(2).numpy(), rtol=1e-6)
    assert sorted(pos.vars) == ["scale"]


def test_positional_bad_params():
    with pytest.raises(ValueError, match=r"'pos'.*embedding_dim must be a positive int"):
        _Pos()
    with pytest.raises(ValueError, match="min_timescale <= max_timescale"):
        _Pos(embedding_dim=4, min_timescale=10, max_timescale=1)


def test_stateless_and_int_layers_agree_across_modes():
    for layer, args in ((_Pos(embedding_dim=5), (4,)), (_Emb(), (tf.constant(IDS),))):
        eager = layer(*args)
        np.testing.assert_allclose(tf.function(layer.__call__)(*args), eager, rtol=1e-6)
        xla = tf.function(layer.__call__, jit_compile=True)(*args)
        np.testing.assert_allclose(xla, eager, rtol=1e-5, atol=1e-6)
