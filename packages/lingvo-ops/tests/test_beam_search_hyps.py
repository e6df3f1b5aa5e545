"""Tests of top_k_terminated_hyps, unpack_hyp, hyps_from_beam_search_outs and a whole decode."""

import numpy as np
import pytest

from lingvo import ops

MIN_SCORE = -1e36

# ----------------------------------------------------------------------------
# TF1's Philox random streams (spec Appendix A), so that the reference vectors
# whose inputs came from TF random ops are regenerated without TensorFlow.

_M32 = 0xFFFFFFFF


def _philox_block(counter, key):
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_ in range(10):
        pb, pa = 0xCD9E8D57 * c2, 0xD2511F53 * c0
        c0, c1, c2, c3 = (
            ((pb >> 32) ^ c1 ^ k0) & _M32,
            pb & _M32,
            ((pa >> 32) ^ c3 ^ k1) & _M32,
            pa & _M32,
        )
        if round_ < 9:
            k0, k1 = (k0 + 0x9E3779B9) & _M32, (k1 + 0xBB67AE85) & _M32
    return c0, c1, c2, c3


def _philox_words(graph_seed, op_seed, num_blocks, offset=0):
    key = (graph_seed & _M32, graph_seed >> 32)
    counter = ((op_seed >> 32) << 96 | (op_seed & _M32) << 64) + offset
    words = []
    for i in range(num_blocks):
        c = counter + i
        words += _philox_block((c & _M32, c >> 32 & _M32, c >> 64 & _M32, c >> 96 & _M32), key)
    return np.array(words, np.uint32)


def _to_unit(words):
    return (np.uint32(0x3F800000) | (words & np.uint32(0x7FFFFF))).view(np.float32) - np.float32(1)


def tf1_uniform(shape, graph_seed, op_seed):
    n = int(np.prod(shape))
    return _to_unit(_philox_words(graph_seed, op_seed, -(-n // 4)))[:n].reshape(shape)


def tf1_normal(shape, graph_seed, op_seed, call=0):
    """The `call`-th run of a stateful random.normal op (each run skips 256 * n counters)."""
    n = int(np.prod(shape))
    words = _philox_words(graph_seed, op_seed, -(-n // 4), offset=call * 256 * n)
    u1 = np.maximum(_to_unit(words[0::2]), np.float32(1e-7))
    v = np.float32(2 * np.pi) * _to_unit(words[1::2])
    r = np.sqrt(np.float32(-2) * np.log(u1))
    out = np.stack([r * np.sin(v), r * np.cos(v)], axis=1).reshape(-1)
    return out[:n].astype(np.float32).reshape(shape)


def test_philox_reproduces_the_published_tf_uniforms():
    s0 = tf1_uniform([8, 5], 398849988, 12345)
    np.testing.assert_array_equal(
        s0[0], np.float32([0.45372832, 0.8623034, 0.6550486, 0.38612545, 0.42067075])
    )
    s1 = tf1_uniform([8, 5], 398849988, 12346)
    np.testing.assert_array_equal(
        s1[7], np.float32([0.096025586, 0.588853, 0.93397903, 0.41272914, 0.8274157])
    )


# ----------------------------------------------------------------------------
# A decode loop the way BeamSearchHelper drives the ops (spec section 7).


def initial_state(num_beams, k, max_steps, src_len):
    n = num_beams * k
    return [
        np.full([num_beams], MIN_SCORE, np.float32),
        np.zeros([n], np.float32),
        np.zeros([max_steps, n], np.float32),
        np.zeros([max_steps, n], np.int32),
        np.zeros([max_steps, n], np.int32),
        np.full([max_steps, n], -1, np.int32),
        np.zeros([max_steps, n], np.float32),
        np.zeros([max_steps, n], np.float32),
        np.zeros([max_steps, n, src_len], np.float32),
        np.zeros([max_steps, n, src_len], np.float32),
        np.zeros([num_beams], bool),
    ]


def decode(
    step_scores,
    num_beams,
    k,
    max_steps,
    src_lens,
    *,
    atten=None,
    is_last_chunk=None,
    length_normalization=0.0,
    coverage_penalty=0.0,
    **step_options,
):
    """Runs beam_search_step until done, then top_k_terminated_hyps and unpack_hyp."""
    n = num_beams * k
    atten = np.zeros([n, 0], np.float32) if atten is None else atten
    options = dict(eos_id=2, beam_size=3.0, num_hyps_per_beam=k)
    options.update(step_options)
    state = initial_state(num_beams, k, max_steps, atten.shape[1])
    for t in range(max_steps):
        out = ops.beam_search_step(step_scores(t), atten, *state, is_last_chunk, t, **options)
        state = list(out[:11])
        if out[11]:
            break
    has_atten = atten.shape[1] > 0
    topk = ops.top_k_terminated_hyps(
        *state[2:8],
        state[8] if has_atten else None,
        state[9] if has_atten else None,
        np.asarray(src_lens, np.int32),
        k=k,
        num_hyps_per_beam=k,
        length_normalization=length_normalization,
        coverage_penalty=coverage_penalty,
        merge_paths=step_options.get("merge_paths", False),
    )
    ids, lens, scores = ops.unpack_hyp(topk[0], topk[1], topk[4], max_seq_length=max_steps)
    return ids, lens, scores.reshape(num_beams, k), topk


HELPER_SEEDS = dict(graph_seed=8274758, op_seed=8273747)


def helper_logits(n):
    return lambda t: tf1_normal([n, 12], HELPER_SEEDS["graph_seed"], HELPER_SEEDS["op_seed"], t)


def test_helper_k3():
    ids, lens, scores, _ = decode(helper_logits(6), 2, 3, 7, [4, 3])
    np.testing.assert_array_equal(
        ids,
        [
            [4, 3, 4, 3, 2, 0, 0],
            [4, 3, 11, 2, 0, 0, 0],
            [4, 3, 6, 2, 0, 0, 0],
            [6, 0, 4, 6, 6, 11, 2],
            [6, 0, 4, 6, 1, 2, 0],
            [6, 0, 4, 6, 6, 2, 0],
        ],
    )
    np.testing.assert_array_equal(lens, [5, 4, 4, 7, 6, 6])
    np.testing.assert_allclose(
        scores,
        [[8.27340603, 6.26949024, 5.59490776], [9.74691486, 8.46679497, 7.14809656]],
        rtol=1e-6,
    )


def test_helper_k1():
    ids, lens, scores, _ = decode(helper_logits(2), 2, 1, 7, [4, 3])
    np.testing.assert_array_equal(ids, [[9, 2, 0, 0, 0, 0, 0], [0] * 7])
    np.testing.assert_array_equal(lens, [2, 0])
    np.testing.assert_allclose(scores, [[3.778749], [0.0]], rtol=1e-6)


def test_helper_k3_force_eos_in_top_k():
    ids, lens, scores, _ = decode(helper_logits(6), 2, 3, 7, [4, 3], force_eos_in_top_k=True)
    np.testing.assert_array_equal(
        ids,
        [
            [4, 3, 11, 6, 9, 3, 2],
            [4, 3, 11, 6, 9, 7, 2],
            [4, 3, 4, 1, 4, 1, 2],
            [6, 0, 4, 6, 6, 11, 2],
            [6, 0, 4, 6, 3, 3, 2],
            [6, 0, 4, 6, 1, 2, 0],
        ],
    )
    np.testing.assert_array_equal(lens, [7, 7, 7, 7, 7, 6])
    np.testing.assert_allclose(
        scores, [[10.576365, 9.345996, 9.125197], [9.746915, 8.905771, 8.466795]], rtol=1e-6
    )


@pytest.mark.parametrize(
    "force, delta, expect_hyps",
    [(False, 0.5, False), (True, 0.5, False), (False, 100.0, False), (True, 100.0, True)],
)
def test_force_eos_in_top_k(force, delta, expect_hyps):
    logits = np.zeros([6, 300], np.float32)
    logits[:, 2] = -1.0
    _, lens, _, _ = decode(
        lambda t: logits,
        2,
        3,
        100,
        [4, 3],
        beam_size=1e5,
        force_eos_in_top_k=force,
        valid_eos_max_logit_delta=delta,
    )
    if expect_hyps:
        np.testing.assert_array_equal(lens, [1, 2, 2, 1, 2, 2])
    else:
        np.testing.assert_array_equal(lens, [0] * 6)


@pytest.mark.parametrize(
    "last_chunk, force, eos_logit, use_eoc, want_lens, want_score",
    [
        (True, True, -10.0, True, [1, 2, 2, 1, 2, 2], -1.0),
        (False, True, -10.0, True, [0] * 6, 0.0),
        (True, False, -10.0, True, [0] * 6, 0.0),
        (False, False, 1.0, False, [1, 2, 2, 1, 2, 2], 1.0),
        (True, True, 1.0, True, [1, 2, 2, 1, 2, 2], -1.0),
    ],
)
def test_force_last_chunk_eoc_in_top_k(
    last_chunk, force, eos_logit, use_eoc, want_lens, want_score
):
    logits = np.zeros([6, 30], np.float32)
    logits[:, 0] = -1.0  # eoc
    logits[:, 2] = eos_logit
    options = dict(eoc_id=0, force_last_chunk_eoc_in_top_k=force) if use_eoc else {}
    _, lens, scores, _ = decode(
        lambda t: logits,
        2,
        3,
        10,
        [4, 3],
        beam_size=1e5,
        valid_eos_max_logit_delta=100.0,
        is_last_chunk=np.full([6], last_chunk),
        **options,
    )
    np.testing.assert_array_equal(lens, want_lens)
    first = scores[:, 0]
    np.testing.assert_allclose(first, [want_score] * 2)


# ----------------------------------------------------------------------------
# testTopKTerminatedHypsOp: two steps of S0 scores, then the n-best.

S0 = tf1_uniform([8, 5], 398849988, 12345)
ATTEN = S0.reshape(-1)[:24].reshape(8, 3)


def _two_step_search():
    state = initial_state(2, 4, 2, 3)
    state[0][:] = 0.0
    for t in range(2):
        state = list(
            ops.beam_search_step(
                S0, ATTEN, *state, None, t, eos_id=2, beam_size=3.0, num_hyps_per_beam=4
            )[:11]
        )
    return state


def test_top_k_terminated_hyps_reference():
    state = _two_step_search()
    ids, lens, scores, atten, normalized = ops.top_k_terminated_hyps(
        *state[2:10],
        np.array([3, 3], np.int32),
        k=2,
        num_hyps_per_beam=4,
        length_normalization=0.2,
        coverage_penalty=0.2,
        target_seq_length_ratio=1.0,
    )
    assert ids.shape == (2, 2, 2) and atten.shape == (2, 2, 2, 3)
    np.testing.assert_array_equal(ids[0, 0], [1, 2])
    np.testing.assert_allclose(scores[0, 0], [0.86230338, 0.65504861])
    np.testing.assert_allclose(atten[0, 0], [[0.45372832, 0.86230338, 0.65504861]] * 2)
    np.testing.assert_allclose(normalized[0, 0], 1.002714, rtol=1e-6)
    np.testing.assert_array_equal(ids[1, 1], [3, 2])
    np.testing.assert_allclose(scores[1, 1], [0.38127339, 0.57700801])
    np.testing.assert_allclose(
        atten[1, 1], [[0.38612545, 0.42067075, 0.84442794], [0.18693292, 0.17821217, 0.66380036]]
    )
    np.testing.assert_allclose(normalized[1, 1], 0.480028, rtol=1e-6)
    np.testing.assert_array_equal(lens, [[2, 2], [2, 2]])

    out_ids, out_lens, out_scores = ops.unpack_hyp(ids, lens, normalized, max_seq_length=5)
    np.testing.assert_array_equal(
        out_ids, [[1, 2, 0, 0, 0], [4, 2, 0, 0, 0], [4, 2, 0, 0, 0], [3, 2, 0, 0, 0]]
    )
    np.testing.assert_array_equal(out_lens, [2, 2, 2, 2])
    np.testing.assert_allclose(out_scores, [1.002714, 0.684296, 0.522484, 0.480028], rtol=1e-6)


def numpy_normalized_score(scores, atten, src_len, alpha, beta, ratio):
    """GNMT's score as spec section 3 states it."""
    lp = np.float32((len(scores) + 5.0) ** alpha / 5.0**alpha)
    total = np.float32(0)
    for s in scores:
        total = np.float32(total + s)
    coverage = np.zeros([src_len], np.float32)
    width = min(src_len, atten.shape[1])
    for vec in atten:
        coverage[:width] += vec[:width]
    penalty = np.log(np.clip(coverage / np.float32(ratio), 0.001, 0.5)).sum(dtype=np.float32)
    return np.float32(total / lp + np.float32(ratio * beta) * penalty)


@pytest.mark.parametrize("alpha, beta, ratio", [(0.0, 0.0, 1.0), (0.6, 0.3, 1.0), (1.0, 0.2, 0.7)])
def test_top_k_matches_numpy_model(alpha, beta, ratio):
    rng = np.random.default_rng(3)
    num_beams, k, max_steps, src_len = 3, 4, 8, 5
    n = num_beams * k
    state = initial_state(num_beams, k, max_steps, src_len)
    for t in range(max_steps):
        scores = rng.normal(size=[n, 9]).astype(np.float32)
        state = list(
            ops.beam_search_step(
                scores,
                rng.random([n, src_len]).astype(np.float32),
                *state,
                None,
                t,
                eos_id=2,
                beam_size=30.0,
                num_hyps_per_beam=k,
                valid_eos_max_logit_delta=3.0,
            )[:11]
        )
    src_lens = np.array([5, 3, 7], np.int32)
    ids, lens, hyp_scores, hyp_atten, normalized = ops.top_k_terminated_hyps(
        *state[2:10],
        src_lens,
        k=3,
        num_hyps_per_beam=k,
        length_normalization=alpha,
        coverage_penalty=beta,
        target_seq_length_ratio=ratio,
    )
    # Every termination, scored by the model, ranked per beam.
    want = {b: [] for b in range(num_beams)}
    hyps, prev, done = state[3], state[4], state[5]
    for t, slot in np.argwhere(done >= 0):
        path, cur = [], slot
        for s in range(t - 1, -1, -1):
            path.append(cur)
            cur = prev[s, cur]
        path = path[::-1]
        seq = [hyps[s, path[s]] for s in range(t)] + [done[t, slot]]
        local = [state[2][s, path[s]] for s in range(t)] + [state[6][t, slot]]
        vecs = np.array([state[9][s, path[s]] for s in range(t)] + [state[8][t, slot]])
        b = slot % num_beams
        score = numpy_normalized_score(local, vecs, src_lens[b], alpha, beta, ratio)
        want[b].append((-score, t, slot, seq, local, vecs))
    for b in range(num_beams):
        ranked = sorted(want[b], key=lambda e: e[:3])[:3]
        assert lens[b].tolist() == [len(e[3]) for e in ranked] + [0] * (3 - len(ranked))
        for j, (neg, _, _, seq, local, vecs) in enumerate(ranked):
            np.testing.assert_array_equal(ids[b, j, : len(seq)], seq)
            np.testing.assert_array_equal(hyp_scores[b, j, : len(seq)], local)
            np.testing.assert_array_equal(hyp_atten[b, j, : len(seq)], vecs)
            np.testing.assert_allclose(normalized[b, j], -neg, rtol=2e-6)
            assert not ids[b, j, len(seq) :].any() and not hyp_atten[b, j, len(seq) :].any()


def test_top_k_without_attention_penalises_every_position():
    state = _two_step_search()
    _, _, _, atten, normalized = ops.top_k_terminated_hyps(
        *state[2:8],
        None,
        None,
        np.array([3, 3], np.int32),
        k=1,
        num_hyps_per_beam=4,
        coverage_penalty=1.0,
    )
    assert atten.shape == (2, 1, 2, 0)
    _, _, _, _, plain = ops.top_k_terminated_hyps(
        *state[2:8], None, None, np.array([3, 3], np.int32), k=1, num_hyps_per_beam=4
    )
    np.testing.assert_allclose(normalized - plain, 3 * np.log(np.float32(0.001)), rtol=1e-5)


def test_top_k_errors():
    state = _two_step_search()
    lens = np.array([3, 3], np.int32)
    with pytest.raises(ValueError, match="must be a multiple of num_hyps_per_beam = 3"):
        ops.top_k_terminated_hyps(*state[2:10], lens, k=2, num_hyps_per_beam=3)
    with pytest.raises(
        ValueError, match=r"src_seq_lengths must have shape \[B\] with \[B\] = \[2\]"
    ):
        ops.top_k_terminated_hyps(*state[2:10], lens[:1], k=2, num_hyps_per_beam=4)
    with pytest.raises(ValueError, match=r"hyps must have shape \[T, N\] with \[T, N\] = \[2, 8\]"):
        ops.top_k_terminated_hyps(
            state[2], state[3][:1], *state[4:10], lens, k=2, num_hyps_per_beam=4
        )
    with pytest.raises(ValueError, match="both be arrays or both None"):
        ops.top_k_terminated_hyps(*state[2:9], None, lens, k=2, num_hyps_per_beam=4)
    # A hyp terminated at step 2 reads the back-pointer of step 1.
    state = initial_state(1, 2, 3, 0)
    steps = [
        np.log([[0.6, 0.4, 1e-7]] * 2),
        np.log([[0.5, 0.4, 0.1]] * 2),
        np.log([[0.05, 0.05, 0.9]] * 2),
    ]
    for t, scores in enumerate(steps):
        state = list(
            ops.beam_search_step(
                scores,
                np.zeros([2, 0], np.float32),
                *state,
                None,
                t,
                eos_id=2,
                beam_size=3.0,
                num_hyps_per_beam=2,
            )[:11]
        )
    assert (state[5][2] >= 0).all()
    state[4][1, :] = 99
    with pytest.raises(ValueError, match=r"prev_hyps\[1, 0\] = 99 is not a slot in \[0, 2\)"):
        ops.top_k_terminated_hyps(
            *state[2:8], None, None, np.array([1], np.int32), k=2, num_hyps_per_beam=2
        )


def test_unpack_hyp_longest_and_truncation():
    ids = np.array([[[5, 6, 2, 0], [7, 2, 0, 0]]], np.int32)
    lens = np.array([[3, 2]], np.int32)
    scores = np.array([[0.5, 0.25]], np.float32)
    out_ids, out_lens, out_scores = ops.unpack_hyp(ids, lens, scores)
    np.testing.assert_array_equal(out_ids, [[5, 6, 2], [7, 2, 0]])
    out_ids, out_lens, _ = ops.unpack_hyp(ids, lens, scores, max_seq_length=2)
    np.testing.assert_array_equal(out_ids, [[5, 6], [7, 2]])
    np.testing.assert_array_equal(out_lens, [2, 2])
    np.testing.assert_array_equal(out_scores, [0.5, 0.25])
    with pytest.raises(ValueError, match=r"lens must have shape ids.shape\[:-1\] = \(1, 2\)"):
        ops.unpack_hyp(ids, lens[0], scores)


def test_hyps_from_beam_search_outs_reference():
    hyps = np.array([[3, 4, 5, 6], [7, 8, 9, 10], [0] * 4], np.int32)
    prev = np.array([[4] * 4, [2, 3, 0, 1], [4] * 4], np.int32)
    done = np.ones([3, 4], bool)
    zeros = np.zeros([3, 4], np.float32)
    atten = np.arange(24, dtype=np.float32).reshape(3, 4, 2)
    ids, lens, scores, vecs = ops.hyps_from_beam_search_outs(
        hyps, prev, done, zeros, atten, zeros, np.ones_like(atten), eos_id=2, num_hyps_per_beam=2
    )
    assert ids.shape == (3, 4, 3) and vecs.shape == (3, 4, 3, 2)
    np.testing.assert_array_equal(lens[2], [3, 3, 3, 3])
    np.testing.assert_array_equal(ids[2], [[5, 7, 2], [6, 8, 2], [3, 9, 2], [4, 10, 2]])
    np.testing.assert_array_equal(
        vecs[2],
        [
            [[4, 5], [8, 9], [1, 1]],
            [[6, 7], [10, 11], [1, 1]],
            [[0, 1], [12, 13], [1, 1]],
            [[2, 3], [14, 15], [1, 1]],
        ],
    )
    np.testing.assert_array_equal(lens[0], [1, 1, 1, 1])
    assert not scores.any()
