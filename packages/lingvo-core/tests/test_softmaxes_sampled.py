"""Tests of `SampledSoftmax`: the sampled training loss against numpy, the full one in eval."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers, run_mode
from lingvo.core.layers import candidate_sampling, softmaxes_sampled

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


def test_each_global_step_draws_new_candidates():
    layer = _Layer(num_sampled=3)
    step = tf.Variable(0, dtype=tf.int64)
    run_mode.SetGlobalStep(step)
    try:
        losses = []
        for i in range(20):
            step.assign(i)
            losses.append(float(layer.FProp(layer.theta, X, WEIGHTS, IDS).avg_xent))
        step.assign(3)
        again = float(layer.FProp(layer.theta, X, WEIGHTS, IDS).avg_xent)
    finally:
        run_mode.SetGlobalStep(None)
    assert len(set(losses)) > 1 and all(np.isfinite(v) and v > 0 for v in losses)
    assert again == losses[3]  # stateless: the same step draws the same candidates


def test_sampled_training_step_compiles_under_xla_and_matches():
    layer = _Layer()

    def Step(x, step):
        sampled = layer.SampleCandidates(tf.reshape(tf.constant(IDS, tf.int64), [-1, 1]), step)
        with tf.GradientTape() as tape:
            out = layer.FProp(layer.theta, x, WEIGHTS, IDS)
        return sampled, out.per_example_xent, tape.gradient(out.total_xent, layer.vars.weight_0)

    step = tf.Variable(0, dtype=tf.int64)
    run_mode.SetGlobalStep(step)
    try:
        for i in (0, 7, 123456):
            step.assign(i)
            eager = Step(X, step)
            xla = tf.function(Step, jit_compile=True)(X, step)
            graph = tf.function(Step)(X, step)
            for got in (xla, graph):
                np.testing.assert_array_equal(got[0][0].numpy(), eager[0][0].numpy())
                for a, b in zip(got[0][1:] + got[1:], eager[0][1:] + eager[1:], strict=True):
                    np.testing.assert_allclose(
                        tf.convert_to_tensor(a).numpy(),
                        tf.convert_to_tensor(b).numpy(),
                        rtol=1e-5,
                        atol=1e-6,
                    )
    finally:
        run_mode.SetGlobalStep(None)


def test_sampler_has_tensorflows_distribution_and_expected_counts():
    # Inclusion frequencies and mean expected counts of 1,000 draws of 3 distinct classes out
    # of 7, against TensorFlow's (stateful) log-uniform sampler with unique=True.
    n, num_sampled, classes = 1000, 3, NUM_CLASSES
    true = tf.constant([[0], [6]], tf.int64)
    draw = tf.function(
        lambda s: candidate_sampling.LogUniformCandidates(
            true, num_sampled, classes, tf.stack([tf.constant(11, tf.int64), s])
        )
    )
    ours_hits, ours_counts, tf_hits, tf_counts = (np.zeros(classes) for _ in range(4))
    firsts = np.zeros(classes)
    tf.random.set_seed(1)
    for i in range(n):
        sampled, _, count = (t.numpy() for t in draw(tf.constant(i, tf.int64)))
        assert len(set(sampled.tolist())) == num_sampled
        ours_hits[sampled] += 1
        ours_counts[sampled] += count
        firsts[sampled[0]] += 1
        # Every expected count comes from one num_tries: 1 - (1 - p)^tries or p * 3.
        p = candidate_sampling.LogUniformProbability(sampled, classes).numpy()
        if not np.allclose(count, p * num_sampled, rtol=1e-5):
            exact = count < 0.99  # float32 counts near 1 lose the digits of their tries
            tries = np.log1p(-count[exact]) / np.log1p(-p[exact])
            assert np.allclose(tries, np.round(tries[0]), atol=0.05) and tries[0] > num_sampled
        sampled, _, count = (
            t.numpy()
            for t in tf.random.log_uniform_candidate_sampler(true, 1, num_sampled, True, classes)
        )
        tf_hits[sampled] += 1
        tf_counts[sampled] += count
    probs = candidate_sampling.LogUniformProbability(np.arange(classes), classes).numpy()
    # The first candidate is a plain log-uniform draw.
    assert np.all(np.abs(firsts / n - probs) < 4 * np.sqrt(probs * (1 - probs) / n))
    np.testing.assert_allclose(ours_hits / n, tf_hits / n, atol=0.08)
    np.testing.assert_allclose(ours_counts / ours_hits, tf_counts / tf_hits, rtol=0.05)


def test_sampler_rejects_bad_num_sampled():
    with pytest.raises(ValueError, match="num_sampled must be an int in"):
        candidate_sampling.LogUniformCandidates([[0]], 8, NUM_CLASSES, [1, 2])


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
