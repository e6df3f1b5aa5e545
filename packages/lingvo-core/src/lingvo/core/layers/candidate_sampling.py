"""Stateless log-uniform candidate sampling: the sampled softmax's sampler, XLA-compatible.

`tf.random.log_uniform_candidate_sampler` keeps its random state in the op and has no XLA
kernel. `LogUniformCandidates` draws from the same distribution with the same "unique"
semantics and expected counts, but its randomness is a pure function of a seed (counter-based
hash bits, as dropout masks use), so eager execution, `tf.function` and
`tf.function(jit_compile=True)` return identical candidates for the same seed.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core.layers import dropouts

__all__ = ["LogUniformCandidates", "LogUniformProbability"]

_MAX_SEED = 2**31 - 1
_SALT = 7919  # folds the draw-chunk index into the first seed word, as dropout folds its extra


def LogUniformProbability(ids: tf.Tensor, range_max: int) -> tf.Tensor:
    """Returns `P(k) = log((k + 2) / (k + 1)) / log(range_max + 1)` as float64."""
    k = tf.cast(ids, tf.float64)
    return tf.math.log1p(1.0 / (k + 1.0)) / tf.math.log(tf.constant(range_max + 1.0, tf.float64))


def _Uniform48(shape: list[int], seed: tf.Tensor, chunk: tf.Tensor) -> tf.Tensor:
    """Returns float64 uniforms in [0, 1) with 48 random bits, from two 24-bit hash draws."""
    first = tf.cast(seed[0], tf.int64)
    words = []
    for half in range(2):
        salt = (tf.cast(chunk, tf.int64) * 2 + half + 1) * _SALT
        words.append(dropouts.HashUniform(shape, tf.stack([(first + salt) % _MAX_SEED, seed[1]])))
    hi, lo = (tf.cast(w, tf.float64) for w in words)
    return hi + lo * (1.0 / (1 << 24))


def LogUniformCandidates(
    true_classes: Any, num_sampled: int, range_max: int, seed: Any
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Draws `num_sampled` distinct classes from the log-uniform (Zipfian) distribution.

    The semantics of `tf.random.log_uniform_candidate_sampler(unique=True)`: classes are
    drawn with replacement, `k = floor(exp(u * log(range_max + 1))) - 1`, repeats are
    rejected, and drawing stops at the `num_sampled`-th distinct class; the candidates come
    in the order they were first drawn. With `num_tries` the number of draws that took, a
    class of probability `p` has expected count `p * num_sampled` if nothing was rejected,
    else `1 - (1 - p)^num_tries` (TensorFlow's formula). Draws come in chunks of
    `max(2 * num_sampled, 64)` inside a `tf.while_loop`, so the shapes are static and the
    function compiles under XLA.

    Args:
      true_classes: Integer, shaped [batch, num_true]: only their expected counts are
        computed (they are not avoided, as in TensorFlow's sampler).
      num_sampled: The number of distinct candidates, in [1, range_max].
      range_max: The number of classes.
      seed: An int tensor shaped [2]; the same seed gives the same candidates.

    Returns:
      `(sampled_candidates, true_expected_count, sampled_expected_count)`: int64 shaped
      [num_sampled], float32 shaped like `true_classes`, float32 shaped [num_sampled].

    Raises:
      ValueError: If `num_sampled` is not in [1, range_max].
    """
    if not isinstance(num_sampled, int) or not 1 <= num_sampled <= range_max:
        raise ValueError(
            f"LogUniformCandidates: num_sampled must be an int in [1, range_max={range_max}], "
            f"got {num_sampled!r}"
        )
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    chunk_size = max(2 * num_sampled, 64)
    log_range = tf.math.log(tf.constant(range_max + 1.0, tf.float64))
    positions = tf.range(chunk_size, dtype=tf.int32)

    def Body(chunk, count, num_tries, sampled, seen):
        u = _Uniform48([chunk_size], seed, chunk)
        draws = tf.cast(tf.floor(tf.exp(u * log_range)), tf.int32) - 1
        draws = tf.clip_by_value(draws, 0, range_max - 1)
        # A draw is new if it is the first of its class in this chunk and unseen before.
        first_at = tf.math.unsorted_segment_min(positions, draws, range_max)
        is_new = tf.logical_and(
            tf.equal(tf.gather(first_at, draws), positions),
            tf.equal(tf.gather(seen, draws), 0),
        )
        total = count + tf.cumsum(tf.cast(is_new, tf.int32))  # distinct classes so far
        take = tf.logical_and(is_new, total <= num_sampled)
        slots = tf.where(take, total - 1, num_sampled)  # slot num_sampled is a discard bin
        sampled = tf.tensor_scatter_nd_update(
            tf.concat([sampled, [0]], 0), slots[:, tf.newaxis], draws
        )[:num_sampled]
        seen = tf.tensor_scatter_nd_update(seen, draws[:, tf.newaxis], tf.ones_like(draws))
        done = total[-1] >= num_sampled
        # The draw that completed the set is the one whose running total reached num_sampled.
        last = tf.argmax(tf.cast(tf.logical_and(take, tf.equal(total, num_sampled)), tf.int32))
        tries = tf.where(
            done,
            chunk * chunk_size + tf.cast(last, tf.int32) + 1,
            (chunk + 1) * chunk_size,
        )
        return chunk + 1, tf.minimum(total[-1], num_sampled), tries, sampled, seen

    _, _, num_tries, sampled, _ = tf.while_loop(
        lambda chunk, count, *_: count < num_sampled,
        Body,
        (
            tf.constant(0, tf.int32),
            tf.constant(0, tf.int32),
            tf.constant(0, tf.int32),
            tf.zeros([num_sampled], tf.int32),
            tf.zeros([range_max], tf.int32),
        ),
    )

    def ExpectedCount(ids: tf.Tensor) -> tf.Tensor:
        p = LogUniformProbability(ids, range_max)
        tries = tf.cast(num_tries, tf.float64)
        count = tf.where(
            tf.equal(num_tries, num_sampled),
            p * num_sampled,
            -tf.math.expm1(tries * tf.math.log1p(-p)),
        )
        return tf.cast(count, tf.float32)

    true_classes = tf.convert_to_tensor(true_classes)
    return tf.cast(sampled, tf.int64), ExpectedCount(true_classes), ExpectedCount(sampled)
