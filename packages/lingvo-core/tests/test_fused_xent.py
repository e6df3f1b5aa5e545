"""`SmoothedSoftmaxXent` against TensorFlow's softmax cross-entropy kernels."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core.layers import fused_xent

ROWS, V = 24, 37


def _Data(seed=0):
    rng = np.random.default_rng(seed)
    logits = tf.constant(rng.normal(size=[ROWS, V]).astype(np.float32) * 4.0)
    labels = tf.constant(rng.integers(0, V, ROWS), tf.int32)
    return logits, labels


def _Reference(logits, labels, uncertainty):
    targets = tf.one_hot(
        labels, V, on_value=1.0 - uncertainty, off_value=uncertainty / (V - 1), dtype=tf.float32
    )
    xent = tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return xent, nll


@pytest.mark.parametrize("uncertainty", [0.0, 0.1, 0.5])
def test_values_and_gradients_match_tensorflow_kernels(uncertainty):
    logits, labels = _Data()
    # Different weights on each row and on the two losses check each upstream gradient.
    w_xent = tf.range(ROWS, dtype=tf.float32) / ROWS
    w_nll = 0.3

    @tf.function
    def Run(fn):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            xent, nll = fn()[:2]
            loss = tf.reduce_sum(xent * w_xent) + w_nll * tf.reduce_sum(nll)
        return xent, nll, tape.gradient(loss, logits)

    ours = Run(lambda: fused_xent.SmoothedSoftmaxXent(logits, labels, uncertainty))
    want = Run(lambda: _Reference(logits, labels, uncertainty))
    for got, ref in zip(ours, want, strict=True):
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
    assert float(tf.reduce_max(ours[0])) > 0.1  # real losses, not zeros


def test_gradient_of_the_smoothed_loss_alone():
    """The unused nll output gets no upstream gradient; the result is still exact."""
    logits, labels = _Data(1)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        xent = fused_xent.SmoothedSoftmaxXent(logits, labels, 0.1)[0]
        ref = _Reference(logits, labels, 0.1)[0]
        ours_loss, ref_loss = tf.reduce_sum(xent), tf.reduce_sum(ref)
    np.testing.assert_allclose(
        tape.gradient(ours_loss, logits).numpy(), tape.gradient(ref_loss, logits).numpy(), atol=1e-6
    )


def test_predicted_is_the_first_argmax():
    logits, labels = _Data(2)
    tied = tf.concat([tf.fill([1, V], 2.0), logits[1:]], axis=0)  # all classes equal in row 0
    predicted = fused_xent.SmoothedSoftmaxXent(tied, labels)[2]
    np.testing.assert_array_equal(predicted.numpy(), tf.argmax(tied, -1).numpy())
    assert int(predicted[0]) == 0


def test_large_logits_stay_finite():
    logits = tf.constant([[1000.0, 0.0, -1000.0], [-50.0, 60.0, 70.0]])
    xent, nll, _ = fused_xent.SmoothedSoftmaxXent(logits, tf.constant([0, 1]), 0.1)
    ref_xent, ref_nll = (
        tf.nn.softmax_cross_entropy_with_logits(
            labels=tf.one_hot([0, 1], 3, on_value=0.9, off_value=0.05), logits=logits
        ),
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1], logits=logits),
    )
    np.testing.assert_allclose(xent.numpy(), ref_xent.numpy(), rtol=1e-6)
    np.testing.assert_allclose(nll.numpy(), ref_nll.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "logits, labels, uncertainty, match",
    [
        (tf.zeros([2, 3, 4]), tf.zeros([2, 3], tf.int32), 0.1, r"logits must be \[rows, V\]"),
        (tf.zeros([2, 4]), tf.zeros([2], tf.int32), 1.0, r"uncertainty must be in \[0, 1\)"),
        (tf.zeros([2, 1]), tf.zeros([2], tf.int32), 0.0, "at least 2 classes"),
    ],
)
def test_bad_arguments_are_named(logits, labels, uncertainty, match):
    with pytest.raises(ValueError, match=match):
        fused_xent.SmoothedSoftmaxXent(logits, labels, uncertainty)
