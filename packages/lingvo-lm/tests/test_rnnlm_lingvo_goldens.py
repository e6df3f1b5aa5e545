"""`RnnLm` against PyPI lingvo 0.14.2 on the same weights: loss, gradients, sampled loss.

The goldens were computed with Lingvo 0.14.2's `RnnLm.CommonParams(vocab_size=12, emb_dim=6,
num_layers=2, rnn_dims=6, residual_start=3)` (the `lm_rnn` benchmark's model, shrunk), every
weight loaded from `np.random.RandomState(seed).uniform(-0.5, 0.5)`, and the batch below:
the full-softmax `avg_xent`, the norm of each dense gradient of it, and
`tf.nn.sampled_softmax_loss` (what Lingvo's `SimpleFullSoftmax` calls with `num_sampled > 0`)
on Lingvo's last hidden layer with fixed candidates and expected counts. They pin the
finding behind the `lm_rnn` benchmark's recipe: both implementations compute the same loss
and the same gradients, so a perplexity gap between them comes from the training loop.
"""

import numpy as np
import tensorflow as tf

from lingvo.core import layers as core_layers
from lingvo.core import run_mode
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.lm import layers

V, D, T, B = 12, 6, 5, 3
IDS = [[10, 8, 9], [3, 8, 8], [0, 5, 3], [10, 11, 9], [9, 10, 5]]
LABELS = [[7, 6, 0], [4, 7, 8], [10, 1, 10], [6, 2, 2], [1, 3, 10]]
PADDINGS = [[0, 0, 0]] * 3 + [[0, 0, 1], [0, 1, 1]]

LINGVO_AVG_XENT = 2.5967602729797363
LINGVO_GRAD_NORMS = {
    "emb.wm": 0.011267099529504776,
    "rnns.rnn[0].cell.b": 0.011324446648359299,
    "rnns.rnn[0].cell.wm": 0.01178200077265501,
    "rnns.rnn[1].cell.b": 0.04734327271580696,
    "rnns.rnn[1].cell.wm": 0.014321045018732548,
    "softmax.bias_0": 0.2701689302921295,
    "softmax.weight_0": 0.07108188420534134,
}
# Candidates 0, 4 and 7 are also labels: Lingvo removes those accidental hits.
SAMPLED = [0, 4, 7, 9]
TRUE_COUNT, SAMPLED_COUNT = 0.3, [0.9, 0.4, 0.2, 0.1]
LINGVO_SAMPLED_XENT = [
    2.0387041568756104, 1.917972207069397, 2.3197617530822754, 1.2857085466384888,
    2.052922248840332, 2.0999059677124023, 1.8162431716918945, 1.6644062995910645,
    1.8148610591888428, 2.0091545581817627, 1.8723329305648804, 1.8968489170074463,
    1.6718072891235352, 1.6797491312026978, 1.8148610591888428,
]  # fmt: skip


def _Weights(shape, seed):
    return np.random.RandomState(seed).uniform(-0.5, 0.5, shape).astype(np.float32)


def _LmWithLingvosWeights():
    p = layers.RnnLm.CommonParams(
        vocab_size=V, emb_dim=D, num_layers=2, rnn_dims=D, residual_start=3
    )
    p.softmax = core_layers.SampledSoftmax.Params().Set(
        input_dim=D, num_classes=V, num_sampled=len(SAMPLED), params_init=p.softmax.params_init
    )
    lm = p.Set(name="lm").Instantiate()
    values = {
        "emb.wm": _Weights([V, D], 1),
        "rnns.rnn[0].cell.wm": _Weights([2 * D, 4 * D], 2),
        "rnns.rnn[0].cell.b": _Weights([4 * D], 3),
        "rnns.rnn[1].cell.wm": _Weights([2 * D, 4 * D], 4),
        "rnns.rnn[1].cell.b": _Weights([4 * D], 5),
        "softmax.weight_0": _Weights([V, D], 6),  # class-major, as Lingvo's when sampling
        "softmax.bias_0": _Weights([V], 7),
    }
    items = lm.vars.FlattenItems()
    assert sorted(k for k, _ in items) == sorted(values)
    for name, var in items:
        var.assign(values[name])
    return lm, items


def _Labels():
    weights = 1.0 - tf.constant(PADDINGS, tf.float32)
    return NestedMap(class_ids=tf.constant(LABELS, tf.int32), class_weights=weights)


def test_full_softmax_loss_and_gradients_equal_lingvos():
    lm, items = _LmWithLingvosWeights()
    with run_mode.EvalMode(), tf.GradientTape() as tape:
        out, _ = lm.FProp(
            lm.theta, tf.constant(IDS), tf.constant(PADDINGS, tf.float32), None, _Labels()
        )
    np.testing.assert_allclose(float(out.avg_xent), LINGVO_AVG_XENT, rtol=1e-6)
    grads = tape.gradient(out.avg_xent, [v for _, v in items])
    norms = {
        name: float(tf.norm(tf.convert_to_tensor(g)))
        for (name, _), g in zip(items, grads, strict=True)
    }
    for name, expected in LINGVO_GRAD_NORMS.items():
        np.testing.assert_allclose(norms[name], expected, rtol=1e-4, err_msg=name)


def test_sampled_loss_with_fixed_candidates_equals_lingvos():
    lm, _ = _LmWithLingvosWeights()
    with run_mode.EvalMode():
        out, _ = lm.FProp(
            lm.theta, tf.constant(IDS), tf.constant(PADDINGS, tf.float32), None, _Labels()
        )
    hidden = tf.reshape(out.last_hidden, [-1, D])
    labels = tf.reshape(tf.constant(LABELS, tf.int64), [-1, 1])
    sampled_values = (
        tf.constant(SAMPLED, tf.int64),
        tf.fill([T * B, 1], TRUE_COUNT),
        tf.constant(SAMPLED_COUNT, tf.float32),
    )
    xent = lm.softmax.SampledXent(lm.theta.softmax, hidden, labels, sampled_values)
    np.testing.assert_allclose(xent, LINGVO_SAMPLED_XENT, rtol=1e-5)
