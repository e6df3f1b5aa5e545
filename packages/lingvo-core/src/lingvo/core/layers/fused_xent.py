"""Softmax cross-entropy with uniform label smoothing in two XLA-fused passes.

A sequence model's loss reads the [tokens, vocab] logits several times: the smoothed loss
it trains on, the plain negative log-likelihood it reports (`log_pplx`) and the most likely
class (`fraction_of_correct_next_step_preds`). TensorFlow's CPU softmax cross-entropy
kernels each make several passes over the logits and one of them is needed per loss, so
on a small-vocabulary Transformer they were a tenth of the training step. Here one
XLA-compiled function gives all three (one pass, plus a reduction for the maximum) and one
more gives the gradient `(softmax - targets) * upstream` (one pass). XLA compiles once per
shape, so the rows should come in a few shapes (bucketed batches do).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["SmoothedSoftmaxXent"]


@tf.function(autograph=False, jit_compile=True)
def _Forward(logits: tf.Tensor, labels: tf.Tensor, off: tf.Tensor, on: tf.Tensor) -> Any:
    shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
    log_norm = tf.math.log(tf.reduce_sum(tf.exp(shifted), axis=-1))
    picked = tf.gather(shifted, labels[:, None], batch_dims=1)[:, 0]
    nll = log_norm - picked
    # Targets: `on` at the label, `off` elsewhere; sum_c t_c (log_norm - shifted_c).
    xent = (on + off * (tf.cast(tf.shape(logits)[-1], logits.dtype) - 1.0)) * log_norm
    xent -= (on - off) * picked + off * tf.reduce_sum(shifted, axis=-1)
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return xent, nll, predicted


@tf.function(autograph=False, jit_compile=True)
def _Backward(
    logits: tf.Tensor,
    labels: tf.Tensor,
    off: tf.Tensor,
    on: tf.Tensor,
    d_xent: tf.Tensor,
    d_nll: tf.Tensor,
) -> tf.Tensor:
    probs = tf.nn.softmax(logits, axis=-1)
    d_xent, d_nll = d_xent[:, None], d_nll[:, None]
    onehot = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
    # d xent = softmax * sum_c t_c - t = softmax * total - t; d nll = softmax - onehot.
    total = on + off * (tf.cast(tf.shape(logits)[-1], logits.dtype) - 1.0)
    return probs * (d_xent * total + d_nll) - d_xent * (off + (on - off) * onehot) - d_nll * onehot


def SmoothedSoftmaxXent(
    logits: tf.Tensor, labels: tf.Tensor, uncertainty: float = 0.0
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Cross-entropies of `softmax(logits)` and the most likely classes, row by row.

    The smoothed targets are Lingvo's `UniformLabelSmoother`'s: `1 - uncertainty` on the
    label and `uncertainty / (V - 1)` on each other class. Values equal TensorFlow's
    `softmax_cross_entropy_with_logits` / `sparse_softmax_cross_entropy_with_logits` up to
    float rounding, and so do the gradients.

    Args:
      logits: Float logits shaped [rows, V] (V >= 2).
      labels: Integer labels shaped [rows], in [0, V).
      uncertainty: The probability mass spread over the other classes, in [0, 1).

    Returns:
      `(xent, nll, predicted)`, each shaped [rows]: the cross-entropy against the smoothed
      targets, against the one-hot targets (differentiable both), and the argmax class
      (int32; the first of equal maxima, as `tf.argmax`).

    Raises:
      ValueError: If the shapes are not [rows, V] and [rows], or `uncertainty` is outside
        [0, 1).
    """
    if logits.shape.rank != 2 or labels.shape.rank != 1:
        raise ValueError(
            f"SmoothedSoftmaxXent: logits must be [rows, V] and labels [rows]; got "
            f"{logits.shape} and {labels.shape}"
        )
    if not 0.0 <= uncertainty < 1.0:
        raise ValueError(f"SmoothedSoftmaxXent: uncertainty must be in [0, 1), got {uncertainty}")
    num_classes = logits.shape[-1]
    if num_classes is not None and num_classes < 2:
        raise ValueError(f"SmoothedSoftmaxXent: needs at least 2 classes, got {num_classes}")
    labels = tf.cast(labels, tf.int32)
    classes = tf.cast(tf.shape(logits)[-1], logits.dtype)
    off = tf.cast(uncertainty, logits.dtype) / tf.maximum(classes - 1.0, 1.0)
    on = tf.constant(1.0 - uncertainty, logits.dtype)

    @tf.custom_gradient
    def Fused(x: tf.Tensor) -> Any:
        xent, nll, predicted = _Forward(x, labels, off, on)

        def Grad(d_xent: Any, d_nll: Any, d_predicted: Any = None) -> tf.Tensor:
            del d_predicted  # an index: no gradient
            d_xent = tf.zeros_like(xent) if d_xent is None else d_xent
            d_nll = tf.zeros_like(nll) if d_nll is None else d_nll
            return _Backward(x, labels, off, on, d_xent, d_nll)

        return (xent, nll, predicted), Grad

    return Fused(logits)
