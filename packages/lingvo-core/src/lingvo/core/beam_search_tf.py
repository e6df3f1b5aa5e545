"""Beam search in plain TensorFlow ops: the `lingvo.ops` kernels' results, exportable graphs.

`BeamSearchStep` and `TopKTerminatedHyps` take and return the same arrays as
`lingvo.ops.beam_search_step` and `lingvo.ops.top_k_terminated_hyps` (hyp-major layout: hyp
`j` of beam `b` at index `j * B + b` of every size-N axis; terminated hyps as `done_*`
arrays indexed `[step, slot]`), so one decode loop can run either. They use no Python or
numpy at run time and therefore work in SavedModels and under XLA. Path merging
(`merge_paths`) is only in the kernels.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

STATE_NAMES = (
    "best_scores",
    "cumulative_scores",
    "scores",
    "hyps",
    "prev_hyps",
    "done_hyps",
    "done_scores",
    "done_cumulative_scores",
    "done_atten_probs",
    "atten_probs",
    "beam_done",
)


def _LexSort(keys: list[tf.Tensor]) -> tf.Tensor:
    """Indices sorting the last axis by `keys[0]` ascending, then `keys[1]`, ...; stable."""
    order = None
    for key in reversed(keys):
        if order is None:
            order = tf.argsort(key, axis=-1, stable=True)
        else:
            sub = tf.argsort(tf.gather(key, order, batch_dims=key.shape.rank - 1), stable=True)
            order = tf.gather(order, sub, batch_dims=key.shape.rank - 1)
    return order


def _NonEmptyPrefix(hyps: tf.Tensor, prev_hyps: tf.Tensor, cur_step: tf.Tensor, eoc_id: int):
    """bool [N]: whether the chain ending at each slot at step cur_step - 1 has a non-eoc id."""
    n = tf.shape(hyps)[1]

    def Body(s, cur, found):
        found = found | (tf.gather(hyps[s], cur) != eoc_id)
        return s - 1, tf.gather(prev_hyps[s], cur), found

    _, _, found = tf.while_loop(
        lambda s, cur, found: s >= 0,
        Body,
        (cur_step - 1, tf.range(n), tf.zeros([n], tf.bool)),
    )
    return found


@tf.autograph.experimental.do_not_convert
def BeamSearchStep(
    scores: Any,
    atten_probs: Any,
    state: tuple[tf.Tensor, ...],
    is_last_chunk: Any | None,
    cur_step: Any,
    *,
    eos_id: int,
    beam_size: float,
    num_hyps_per_beam: int,
    eoc_id: int = -1,
    valid_eos_max_logit_delta: float = 5.0,
    local_eos_threshold: float = -100.0,
    merge_paths: bool = False,
    allow_empty_terminated_hyp: bool = True,
    ensure_full_beam: bool = False,
    force_eos_in_last_step: bool = False,
    force_eos_in_top_k: bool = False,
    force_last_chunk_eoc_in_top_k: bool = False,
    beam_independence: bool = False,
) -> tuple[tuple[tf.Tensor, ...], tf.Tensor]:
    """One step of hyp-major beam search; `lingvo.ops.beam_search_step` in TensorFlow ops.

    Candidates are ordered by global score (higher first), then word id, then source slot
    (lower first), exactly as the kernel orders them, so both give the same hyps.

    Args:
      scores: float32 [N, V] this step's local scores (log-probabilities).
      atten_probs: float32 [N, S] this step's attention.
      state: The 11 state tensors in `STATE_NAMES` order: best_scores [B],
        cumulative_scores [N], scores / hyps / prev_hyps / done_hyps / done_scores /
        done_cumulative_scores [T, N], done_atten_probs / atten_probs [T, N, S],
        beam_done bool [B].
      is_last_chunk: bool [N], read only when `eoc_id >= 0`.
      cur_step: int32 scalar, the step t being taken.
      eos_id: End-of-sequence id.
      beam_size: The score margin that ends a beam.
      num_hyps_per_beam: K.
      eoc_id: End-of-chunk id, or -1.
      valid_eos_max_logit_delta: eos terminates only within this of the hyp's best extension.
      local_eos_threshold: eos / eoc terminate only with a local score above this.
      merge_paths: Not supported here; must be False.
      allow_empty_terminated_hyp: Whether a last-chunk eoc may end an all-eoc hyp.
      ensure_full_beam: A beam is not done before K of its hyps terminated.
      force_eos_in_last_step: At the last step every hyp terminates with eos.
      force_eos_in_top_k: eos is always a candidate.
      force_last_chunk_eoc_in_top_k: eoc is always a candidate of last-chunk hyps.
      beam_independence: Done beams are left untouched.

    Returns:
      `(new_state, all_done)`: the 11 updated tensors and a bool scalar.

    Raises:
      NotImplementedError: With `merge_paths`.
    """
    if merge_paths:
        raise NotImplementedError("The TensorFlow beam search does not merge paths.")
    (best, cum, h_scores, h_hyps, h_prev, done, d_scores, d_cum, d_atten, h_atten, beam_done) = (
        state
    )
    scores = tf.convert_to_tensor(scores, tf.float32)
    atten_probs = tf.convert_to_tensor(atten_probs, tf.float32)
    cur_step = tf.cast(cur_step, tf.int32)
    k = num_hyps_per_beam
    n = tf.shape(scores)[0]
    vocab = tf.shape(scores)[1]
    num_beams = n // k
    max_steps = tf.shape(h_hyps)[0]
    m = k + 1 + (1 if eoc_id >= 0 else 0)
    neg_inf = tf.constant(-float("inf"), tf.float32)

    slots = tf.range(n)
    slot_beam = slots % num_beams
    if beam_independence:
        skip_beam = beam_done
    else:
        skip_beam = tf.zeros_like(beam_done)
    expands = ~tf.gather(skip_beam, slot_beam) & ((cur_step > 0) | (slots < num_beams))

    # C. Per-hyp candidates: the best M words by (global desc, word asc).
    glob = cum[:, None] + scores
    is_nan = tf.math.is_nan(glob)
    words = tf.range(vocab)
    last_step = tf.logical_and(tf.constant(force_eos_in_last_step), cur_step == max_steps - 1)
    select = tf.where(is_nan, neg_inf, glob)
    select = tf.where(last_step & (words == eos_id)[None, :], float("inf"), select)
    _, top_words = tf.math.top_k(select, k=m)  # ties: lower word first
    top_glob = tf.gather(glob, top_words, batch_dims=1)
    top_local = tf.gather(scores, top_words, batch_dims=1)
    valid = ~tf.math.is_nan(top_glob)
    order = _LexSort([tf.cast(~valid, tf.int32), -tf.where(valid, top_glob, 0.0), top_words])
    e_word = tf.gather(top_words, order, batch_dims=1)
    e_glob = tf.gather(top_glob, order, batch_dims=1)
    e_local = tf.gather(top_local, order, batch_dims=1)
    e_valid = tf.gather(valid, order, batch_dims=1)

    def Replace(position, word, mask):
        """Puts candidate `word` at entry `position` of the rows in `mask`."""
        hit = mask[:, None] & (tf.range(m) == position)[None, :]
        w = tf.fill([n, m], word)
        return (
            tf.where(hit, w, e_word),
            tf.where(hit, glob[:, word : word + 1], e_glob),
            tf.where(hit, scores[:, word : word + 1], e_local),
            tf.where(hit, ~is_nan[:, word : word + 1], e_valid),
        )

    if force_eos_in_top_k:
        absent = ~tf.reduce_any(e_word == eos_id, axis=1)
        e_word, e_glob, e_local, e_valid = Replace(m - 1, eos_id, absent)
    if eoc_id >= 0:
        chunk = tf.convert_to_tensor(is_last_chunk, tf.bool)
    else:
        chunk = tf.zeros([n], tf.bool)
    if force_last_chunk_eoc_in_top_k and eoc_id >= 0:
        absent = chunk & ~tf.reduce_any(e_word == eoc_id, axis=1)
        shifted = [
            tf.where(absent[:, None], tf.concat([x[:, :-2], x[:, -1:], x[:, -1:]], 1), x)
            for x in (e_word, e_glob, e_local, e_valid)
        ]
        e_word, e_glob, e_local, e_valid = shifted
        e_word, e_glob, e_local, e_valid = Replace(m - 2, eoc_id, absent)

    threshold = e_glob[:, :1] - tf.constant(valid_eos_max_logit_delta, tf.float32)
    in_range = (e_glob > threshold) & (e_local > local_eos_threshold)
    is_eos = e_word == eos_id
    is_eoc = chunk[:, None] & (e_word == eoc_id) if eoc_id >= 0 else tf.zeros_like(is_eos)
    accept = is_eos & (last_step | in_range)
    if eoc_id >= 0:
        eoc_ok = is_eoc & in_range
        if not allow_empty_terminated_hyp:
            eoc_ok &= _NonEmptyPrefix(h_hyps, h_prev, cur_step, eoc_id)[:, None]
        accept |= eoc_ok
    accept &= e_valid & expands[:, None]
    # The later accepted terminal (the lower-scored one) is the one recorded.
    last_accept = m - 1 - tf.argmax(tf.cast(tf.reverse(accept, [1]), tf.int32), axis=1)
    last_accept = tf.cast(last_accept, tf.int32)
    has_term = tf.reduce_any(accept, axis=1)
    t_word = tf.gather(e_word, last_accept, batch_dims=1)
    t_local = tf.gather(e_local, last_accept, batch_dims=1)
    t_glob = tf.gather(e_glob, last_accept, batch_dims=1)

    # D. Per-beam pools of the non-terminal entries, best K by (global, word, slot).
    in_pool = e_valid & ~is_eos & ~is_eoc & expands[:, None]

    def ByBeam(x):  # [N, M] (slot j * B + b) -> [B, K * M], slots in increasing order
        return tf.reshape(tf.transpose(tf.reshape(x, [k, num_beams, m]), [1, 0, 2]), [-1, k * m])

    p_ok, p_glob, p_word = ByBeam(in_pool), ByBeam(e_glob), ByBeam(e_word)
    p_local = ByBeam(e_local)
    p_src = ByBeam(tf.tile(slots[:, None], [1, m]))
    order = _LexSort([tf.cast(~p_ok, tf.int32), -tf.where(p_ok, p_glob, 0.0), p_word, p_src])[:, :k]

    def Chosen(x, zero):  # [B, K] -> [N] hyp-major, zero records where the pool ran short
        picked = tf.gather(x, order, batch_dims=1)
        picked = tf.where(tf.gather(p_ok, order, batch_dims=1), picked, zero)
        return tf.reshape(tf.transpose(picked), [n])

    new_glob, new_word = Chosen(p_glob, 0.0), Chosen(p_word, 0)
    new_local, new_src = Chosen(p_local, 0.0), Chosen(p_src, 0)

    # E. Row t of the histories, for the slots of beams not skipped.
    keep = tf.gather(skip_beam, slot_beam)
    row = tf.reshape(cur_step, [1, 1])

    def WriteRow(history, value):
        old = tf.gather(history, cur_step)
        mask = tf.reshape(keep, [-1] + [1] * (value.shape.rank - 1))
        return tf.tensor_scatter_nd_update(history, row, tf.where(mask, old, value)[None])

    h_scores = WriteRow(h_scores, new_local)
    h_hyps = WriteRow(h_hyps, new_word)
    h_prev = WriteRow(h_prev, new_src)
    h_atten = WriteRow(h_atten, tf.gather(atten_probs, new_src))
    cum = tf.where(keep, cum, new_glob)

    def WriteDone(history, value):
        old = tf.gather(history, cur_step)
        mask = tf.reshape(has_term, [-1] + [1] * (value.shape.rank - 1))
        return tf.tensor_scatter_nd_update(history, row, tf.where(mask, value, old)[None])

    done = WriteDone(done, t_word)
    d_scores = WriteDone(d_scores, t_local)
    d_cum = WriteDone(d_cum, t_glob)
    d_atten = WriteDone(d_atten, atten_probs)
    term_glob = tf.where(has_term, t_glob, neg_inf)
    best = tf.maximum(best, tf.math.unsorted_segment_max(term_glob, slot_beam, num_beams))

    # F. Done flags.
    by_beam_cum = tf.transpose(tf.reshape(cum, [k, num_beams]))
    open_hyp = tf.reduce_any(by_beam_cum > (best - tf.constant(beam_size, tf.float32))[:, None], 1)
    now_done = ~open_hyp
    if ensure_full_beam:
        done_so_far = tf.reshape(done, [max_steps, k, num_beams])
        steps_so_far = tf.range(max_steps) <= cur_step
        count = tf.reduce_sum(
            tf.cast((done_so_far >= 0) & steps_so_far[:, None, None], tf.int32), axis=[0, 1]
        )
        now_done &= count >= k
    beam_done = beam_done | now_done
    new_state = (best, cum, h_scores, h_hyps, h_prev, done, d_scores, d_cum, d_atten, h_atten)
    return (*new_state, beam_done), tf.reduce_all(beam_done)


@tf.autograph.experimental.do_not_convert
def TopKTerminatedHyps(
    state: tuple[tf.Tensor, ...],
    src_seq_lengths: Any,
    *,
    k: int,
    num_hyps_per_beam: int,
    length_normalization: float = 0.0,
    coverage_penalty: float = 0.0,
    target_seq_length_ratio: float = 1.0,
) -> tuple[tf.Tensor, ...]:
    """The best k terminated hyps per beam; `lingvo.ops.top_k_terminated_hyps` in TF ops.

    A hyp terminated at step t from slot i scores `sum(scores) / ((t + 6)**a / 5**a)` plus
    `r * b * sum_{p < n} log(clip(c_p / r, 0.001, 0.5))` (GNMT); ties go to the earlier step,
    then the lower slot.

    Args:
      state: The 11 search state tensors (`STATE_NAMES` order) after the last step.
      src_seq_lengths: int32 [B] source lengths.
      k: Hyps kept per beam.
      num_hyps_per_beam: K.
      length_normalization: a.
      coverage_penalty: b.
      target_seq_length_ratio: r.

    Returns:
      `(ids, lens, scores, atten_probs, normalized_scores)`: int32 [B, k, T], int32 [B, k],
      float32 [B, k, T], float32 [B, k, T, S], float32 [B, k]; zeros past `lens`.
    """
    _, _, h_scores, h_hyps, h_prev, done, d_scores, _, d_atten, h_atten, _ = state
    max_steps, n = tf.unstack(tf.shape(h_hyps))
    src_len = tf.shape(h_atten)[2]
    num_beams = n // num_hyps_per_beam
    term_step = tf.range(max_steps)[:, None]  # [T, 1]: the step each done entry ended at

    # Walk every chain back at once; element [s, t, i] is step s of the hyp done at (t, i).
    def Body(s, cur, ids, scores, atten):
        before = tf.broadcast_to(term_step > s, [max_steps, n])
        ids = ids.write(s, tf.where(before, tf.gather(h_hyps[s], cur), 0))
        scores = scores.write(s, tf.where(before, tf.gather(h_scores[s], cur), 0.0))
        atten = atten.write(
            s, tf.where(before[..., None], tf.gather(h_atten[s], cur), tf.zeros([], tf.float32))
        )
        return s - 1, tf.where(before, tf.gather(h_prev[s], cur), cur), ids, scores, atten

    arrays = [tf.TensorArray(dtype, size=max_steps) for dtype in (tf.int32, tf.float32)] + [
        tf.TensorArray(tf.float32, size=max_steps)
    ]
    cur0 = tf.broadcast_to(tf.range(n)[None, :], [max_steps, n])
    _, _, ids, scores, atten = tf.while_loop(
        lambda s, *_: s >= 0, Body, (max_steps - 1, cur0, *arrays)
    )
    at_term = tf.equal(tf.range(max_steps)[:, None, None], term_step[None])  # [s, t, 1]
    ids = tf.where(at_term, done[None], ids.stack())  # [s, t, i]
    scores = tf.where(at_term, d_scores[None], scores.stack())
    atten = tf.where(at_term[..., None], d_atten[None], atten.stack())  # [s, t, i, S]

    # Sequential float32 sums over the steps, as the kernel adds them.
    total = tf.foldl(lambda acc, x: acc + x, scores, initializer=tf.zeros([max_steps, n]))
    length = tf.cast(term_step + 1, tf.float64)
    alpha = tf.constant(length_normalization, tf.float64)
    norm = total / tf.cast(
        tf.pow(length + 5.0, alpha) / tf.pow(tf.constant(5.0, tf.float64), alpha), tf.float32
    )
    if coverage_penalty != 0.0:
        coverage = tf.foldl(
            lambda acc, x: acc + x, atten, initializer=tf.zeros([max_steps, n, src_len])
        )
        lengths = tf.gather(tf.cast(src_seq_lengths, tf.int32), tf.range(n) % num_beams)
        covered = tf.range(src_len)[None, None, :] < lengths[None, :, None]
        clipped = tf.clip_by_value(coverage / target_seq_length_ratio, 0.001, 0.5)
        logs = tf.where(covered, tf.math.log(clipped), 0.0)
        penalty = tf.foldl(
            lambda acc, x: acc + x,
            tf.transpose(logs, [2, 0, 1]),
            initializer=tf.zeros([max_steps, n]),
        )
        # Positions past S have no attention: each adds log(0.001).
        missing = tf.maximum(lengths - src_len, 0)
        penalty += tf.cast(missing, tf.float32)[None] * tf.math.log(tf.constant(0.001))
        rb = tf.constant(target_seq_length_ratio * coverage_penalty, tf.float32)
        norm += rb * penalty

    # Per beam, candidates in (step, slot) order so that a stable sort breaks ties as the kernel.
    def ByBeam(x):  # [T, N, ...] -> [B, T * K, ...]
        rest = tf.shape(x)[2:]
        shaped = tf.reshape(x, tf.concat([[max_steps, num_hyps_per_beam, num_beams], rest], 0))
        perm = [2, 0, 1, *list(range(3, x.shape.rank + 1))]
        flat = tf.transpose(shaped, perm)
        return tf.reshape(flat, tf.concat([[num_beams, -1], rest], 0))

    is_done = ByBeam(done >= 0)
    order = _LexSort([tf.cast(~is_done, tf.int32), -tf.where(is_done, ByBeam(norm), 0.0)])
    order = order[:, :k]
    picked_ok = tf.gather(is_done, order, batch_dims=1)  # [B, k]
    lens = tf.where(
        picked_ok,
        tf.gather(ByBeam(tf.broadcast_to(term_step + 1, [max_steps, n])), order, batch_dims=1),
        0,
    )
    out_norm = tf.where(picked_ok, tf.gather(ByBeam(norm), order, batch_dims=1), 0.0)

    def Rows(x, zero):  # [s, t, i, ...] -> [B, k, T, ...]
        perm = [1, 2, 0, *list(range(3, x.shape.rank))]
        picked = tf.gather(ByBeam(tf.transpose(x, perm)), order, batch_dims=1)
        valid = tf.range(max_steps)[None, None, :] < lens[..., None]
        valid = tf.reshape(
            valid, tf.concat([tf.shape(valid), tf.ones([x.shape.rank - 3], tf.int32)], 0)
        )
        return tf.where(valid, picked, zero)

    return (
        Rows(ids, 0),
        lens,
        Rows(scores, 0.0),
        Rows(atten, 0.0),
        out_norm,
    )
