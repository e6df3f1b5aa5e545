"""Tests of `SampledSoftmax`: the sampled training loss against numpy, the full one in eval."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers, run_mode
from lingvo.core.layers import softmaxes_sampled

NUM_CLASSES = 7
X = np.random.RandomState(3).randn(2, 3, 4).astype(np.float32)
IDS = np.array([[1, 0, 6], [2, 2, 3]], np.int32)
WEIGHTS = np.array([[1, 1, 0], [1, 0.5, 0]], np.float32)


def _Layer(**kwargs):
    p = layers.SampledSoftmax.Params().Set(
        name="softmax", input_dim=4, num_classes=NUM_CLASSES, num_shards=2, num_sampled=3
    )
    layer = p.Set(**kwargs).Instantiate()
    rng = np.random.RandomState(5)
    for var in layer.vars.Flatten():  # non-zero biases too, so every term is exercised
        var.assign(rng.randn(*var.shape).astype(np.float32))
    return layer


def _Dense(layer):
    v = layer.vars
    w = np.concatenate([v.weight_0.numpy(), v.weight_1.numpy()], 0)[:NUM_CLASSES]
    b = np.concatenate([v.bias_0.numpy(), v.bias_1.numpy()])[:NUM_CLASSES]
    return w, b  # [num_classes, input_dim], [num_classes]


def _LogSoftmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_public_name_and_class_major_variables():
    assert layers.SampledSoftmax is softmaxes_sampled.SampledSoftmax
    layer = _Layer()
    shapes = {k: tuple(v.shape) for k, v in layer.vars.FlattenItems()}
    # ceil(7 / 2) = 4 classes per shard, stored [classes, input_dim] as Lingvo does.
    assert shapes == {"weight_0": (4, 4), "weight_1": (4, 4), "bias_0": (4,), "bias_1": (4,)}


def test_sampled_training_loss_matches_numpy():
    layer = _Layer()
    drawn = []
    sample = layer.SampleCandidates

    def Recording(class_ids):
        values = sample(class_ids)
        drawn.append([np.asarray(v) for v in values])
        return values

    object.__setattr__(layer, "SampleCandidates", Recording)
    out = layer.FProp(layer.theta, X, WEIGHTS, IDS)
    (sampled, true_count, sampled_count) = drawn[0]
    assert sampled.shape == (3,) and len(set(sampled.tolist())) == 3  # distinct candidates
    assert np.all((sampled >= 0) & (sampled < NUM_CLASSES))

    w, b = _Dense(layer)
    x, ids = X.reshape(-1, 4), IDS.reshape(-1)
    true_logit = (x * w[ids]).sum(-1) + b[ids] - np.log(true_count[:, 0])
    sampled_logits = x @ w[sampled].T + b[sampled] - np.log(sampled_count)
    # Accidental hits: a sampled class equal to the example's own class is left out.
    sampled_logits = np.where(sampled[None, :] == ids[:, None], -np.inf, sampled_logits)
    scores = np.concatenate([true_logit[:, None], sampled_logits], 1)
    expected = -_LogSoftmax(scores)[:, 0].reshape(IDS.shape)

    np.testing.assert_allclose(out.per_example_xent.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.total_xent.numpy(), (expected * WEIGHTS).sum(), rtol=1e-5)
    np.testing.assert_allclose(out.total_weight.numpy(), 3.5)
    np.testing.assert_allclose(out.avg_xent.numpy(), (expected * WEIGHTS).sum() / 3.5, rtol=1e-5)
    np.testing.assert_array_equal(out.per_example_argmax.numpy(), IDS)
    np.testing.assert_allclose(out.logits.numpy(), X @ w.T + b, rtol=1e-5, atol=1e-5)
    # The log-uniform expected counts: with unique sampling every count is below num_sampled
    # and the more frequent (lower) ids are expected more often.
    assert np.all(sampled_count <= 3.0 + 1e-6)
    order = np.argsort(sampled)
    assert np.all(np.diff(sampled_count[order]) <= 1e-6)


def test_eval_and_class_probabilities_use_the_full_softmax():
    layer = _Layer()
    w, b = _Dense(layer)
    log_probs = _LogSoftmax(X @ w.T + b)
    expected = -np.take_along_axis(log_probs, IDS[..., None], -1)[..., 0]
    with run_mode.EvalMode():
        out = layer.FProp(layer.theta, X, WEIGHTS, IDS)
    np.testing.assert_allclose(out.per_example_xent.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out.per_example_argmax.numpy(), log_probs.argmax(-1))
    probs = np.eye(NUM_CLASSES, dtype=np.float32)[IDS]
    out = layer.FProp(layer.theta, X, WEIGHTS, class_probabilities=probs)  # training mode
    np.testing.assert_allclose(out.per_example_xent.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_each_training_step_draws_new_candidates():
    layer = _Layer(num_sampled=3)
    losses = {float(layer.FProp(layer.theta, X, WEIGHTS, IDS).avg_xent) for _ in range(20)}
    assert len(losses) > 1 and all(np.isfinite(v) and v > 0 for v in losses)


def test_gradients_reach_only_drawn_and_true_rows():
    layer = _Layer(num_sampled=2, full_logits_in_training=False, num_shards=1)
    with tf.GradientTape() as tape:
        out = layer.FProp(layer.theta, X, WEIGHTS, IDS)
    assert "logits" not in out and "log_probs" not in out
    grad = tf.convert_to_tensor(tape.gradient(out.total_xent, layer.vars.weight_0)).numpy()
    touched = set(np.nonzero(np.abs(grad).sum(-1))[0].tolist())
    assert touched and len(touched) <= len(set(IDS.reshape(-1).tolist())) + 2


def test_bad_params_and_inputs_raise():
    with pytest.raises(ValueError, match="num_sampled"):
        _Layer(num_sampled=NUM_CLASSES)
    layer = _Layer()
    with pytest.raises(ValueError, match="softmax"):
        layer.FProp(layer.theta, X[..., :3], WEIGHTS, IDS)
    with pytest.raises(ValueError, match="integers"):
        layer.FProp(layer.theta, X, WEIGHTS, IDS.astype(np.float32))


def test_runs_under_tf_function():
    layer = _Layer()
    fn = tf.function(lambda x: layer.FProp(layer.theta, x, WEIGHTS, IDS).avg_xent)
    assert np.isfinite(fn(X).numpy())
