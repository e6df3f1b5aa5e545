"""Tests of `SimpleFullSoftmax` and the tied `SharedSoftmaxLayer` against numpy."""

import math

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers
from lingvo.core.layers import softmaxes

X = np.random.RandomState(1).randn(2, 3, 4).astype(np.float32)
IDS = np.array([[1, 0, 4], [2, 2, 3]], np.int32)
WEIGHTS = np.array([[1, 1, 0], [1, 0.5, 0]], np.float32)


def _Softmax(cls=layers.SimpleFullSoftmax, **kwargs):
    p = cls.Params().Set(name="softmax", input_dim=4, num_classes=5, num_shards=2)
    return p.Set(**kwargs).Instantiate()


def _LogSoftmax(logits):
    z = logits - logits.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _Reference(layer, targets):
    v = layer.vars
    w = np.concatenate([v.weight_0.numpy(), v.weight_1.numpy()], 1)[:, :5]
    b = np.concatenate([v.bias_0.numpy(), v.bias_1.numpy()])[:5]
    logits = X @ w + b
    log_probs = _LogSoftmax(logits)
    xent = -(targets * log_probs).sum(-1)
    total = (xent * WEIGHTS).sum()
    return logits, log_probs, xent, total


def test_public_names_and_variables():
    assert layers.SimpleFullSoftmax is softmaxes.SimpleFullSoftmax
    layer = _Softmax()
    assert sorted(layer.vars) == ["bias_0", "bias_1", "weight_0", "weight_1"]
    assert layer.vars.weight_0.shape == (4, 3)  # ceil(5 / 2) classes per shard


def test_fprop_matches_numpy():
    layer = _Softmax()
    layer.vars.bias_1.assign([0.1, -0.2, 0.3])
    out = layer(X, WEIGHTS, IDS)
    logits, log_probs, xent, total = _Reference(layer, np.eye(5)[IDS])
    np.testing.assert_allclose(out.logits, logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.log_probs, log_probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.per_example_xent, xent, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out.per_example_argmax, logits.argmax(-1))
    assert out.per_example_argmax.dtype == tf.int32
    np.testing.assert_allclose(out.total_xent, total, rtol=1e-5)
    np.testing.assert_allclose(out.total_weight, 3.5)
    np.testing.assert_allclose(out.avg_xent, total / 3.5, rtol=1e-5)
    # [..., 1] weights and ids give the same numbers.
    again = layer(X, WEIGHTS[..., None], IDS[..., None])
    np.testing.assert_allclose(again.avg_xent, out.avg_xent, rtol=1e-6)


def test_label_smoothing_and_class_probabilities():
    layer = _Softmax(label_smoothing=0.1)
    out = layer(X, WEIGHTS, IDS)
    targets = np.eye(5)[IDS] * 0.9 + 0.1 / 5
    _, _, xent, total = _Reference(layer, targets)
    np.testing.assert_allclose(out.per_example_xent, xent, rtol=1e-5)
    np.testing.assert_allclose(out.avg_xent, total / 3.5, rtol=1e-5)
    probs = layer(X, WEIGHTS, class_probabilities=targets.astype(np.float32))
    np.testing.assert_allclose(probs.per_example_xent, xent, rtol=1e-5)


def test_zero_weight_avg_and_logits_clipping():
    layer = _Softmax(logits_abs_max=0.01)
    out = layer(X, np.zeros_like(WEIGHTS), IDS)
    assert float(out.avg_xent) == 0.0 and float(out.total_weight) == 0.0
    assert np.abs(out.logits.numpy()).max() <= 0.01


def test_bad_inputs():
    layer = _Softmax()
    with pytest.raises(
        ValueError, match=r"SimpleFullSoftmax 'softmax': inputs expected .*\[2, 3, 5\]"
    ):
        layer(np.zeros([2, 3, 5], np.float32), WEIGHTS, IDS)
    with pytest.raises(ValueError, match=r"'softmax': class_weights expected shape \[2, 3\]"):
        layer(X, np.ones([2, 4], np.float32), IDS)
    with pytest.raises(ValueError, match="exactly one of class_ids, class_probabilities"):
        layer(X, WEIGHTS)
    with pytest.raises(ValueError, match="num_shards 6 > num_classes 5"):
        _Softmax(num_shards=6)


def test_modes_agree_and_checkpoint_round_trip(tmp_path):
    layer = _Softmax(label_smoothing=0.1)
    args = (tf.constant(X), tf.constant(WEIGHTS), tf.constant(IDS))
    eager = layer(*args)
    for fn in (tf.function(layer.__call__), tf.function(layer.__call__, jit_compile=True)):
        for a, b in zip(tf.nest.flatten(fn(*args)), tf.nest.flatten(eager), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    path = tf.train.Checkpoint(model=layer).save(str(tmp_path / "ckpt"))
    other = _Softmax(label_smoothing=0.1, random_seed=3)
    tf.train.Checkpoint(model=other).restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(other(*args).logits, eager.logits)


def test_shared_softmax_ties_embedding_and_softmax():
    layer = _Softmax(layers.SharedSoftmaxLayer, scale_sqrt_depth=True)
    w, _ = layer.DenseWeights(layer.theta)
    emb = layer.EmbLookup(layer.theta, IDS)
    np.testing.assert_allclose(emb, w.numpy().T[IDS] * math.sqrt(4), rtol=1e-6)
    with tf.GradientTape() as tape:
        loss = layer(layer.EmbLookup(layer.theta, IDS), WEIGHTS, IDS).total_xent
    grads = tape.gradient(loss, [layer.vars.weight_0, layer.vars.weight_1])
    assert all(g is not None and np.abs(np.asarray(g)).sum() > 0 for g in grads)
    with pytest.raises(ValueError, match="vocab_size 7 != num_classes 5"):
        _Softmax(layers.SharedSoftmaxLayer, vocab_size=7)


def test_fused_smoothed_xent_matches_log_softmax_form_and_its_gradient():
    logits = tf.constant(np.random.RandomState(3).randn(6, 7).astype(np.float32) * 3.0)
    labels = tf.constant([0, 6, 3, 3, 1, 5])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        want = softmaxes.UniformSmoothedXent(tf.nn.log_softmax(logits), labels, 0.1, 7)
        got = softmaxes.UniformSmoothedXentFromLogits(logits, labels, 0.1, 7)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)
    np.testing.assert_allclose(
        tape.gradient(got, logits).numpy(), tape.gradient(want, logits).numpy(), atol=1e-6
    )
    # The numpy definition: 1 - u on the label, u / (V - 1) on each other class.
    lp = _LogSoftmax(logits.numpy())
    onehot = np.eye(7)[labels.numpy()]
    targets = onehot * 0.9 + (1 - onehot) * 0.1 / 6
    np.testing.assert_allclose(got.numpy(), -(targets * lp).sum(-1), rtol=1e-5)
    smoother = (
        softmaxes.UniformLabelSmoother.Params()
        .Set(name="ls", num_classes=7, uncertainty=0.1)
        .Instantiate()
    )
    np.testing.assert_allclose(
        smoother.SmoothedXentFromLogits(logits, labels).numpy(), got.numpy(), rtol=1e-6
    )


def test_logits_of_a_sequence_equal_the_row_by_row_product():
    # Shards that divide the classes exactly take the no-slice path; 5 classes in 2 do not.
    for classes, shards in ((6, 3), (5, 2)):
        layer = _Softmax(num_classes=classes, num_shards=shards)
        w, b = (t.numpy() for t in layer.DenseWeights(layer.theta))
        assert w.shape == (4, classes) and b.shape == (classes,)
        logits = layer.Logits(layer.theta, X).numpy()
        assert logits.shape == (2, 3, classes)
        np.testing.assert_allclose(logits, X @ w + b, rtol=1e-5, atol=1e-6)
