"""Tests of ops.beam_search_step: Lingvo's reference vectors, a numpy model, edge cases."""

import json
import pathlib
import threading

import numpy as np
import pytest

from lingvo import ops

MIN_SCORE = -1e36

# Appendix A of the ops spec: TF1 uniform([8, 5]) under graph seed 398849988
# with op seeds 12345 (S0) and 12346 (S1). Regenerated here with the Philox
# model in test_beam_search_hyps.py, which matches TF bit for bit.
S0 = np.array(
    [
        [0.45372832, 0.8623034, 0.6550486, 0.38612545, 0.42067075],
        [0.84442794, 0.258188, 0.03645897, 0.3812734, 0.18693292],
        [0.17821217, 0.66380036, 0.0532794, 0.5377772, 0.076096416],
        [0.45298624, 0.5351807, 0.577008, 0.88938165, 0.05507326],
        [0.20877635, 0.7732409, 0.7560978, 0.82600963, 0.4962275],
        [0.6845293, 0.3759209, 0.42704463, 0.36551583, 0.6958201],
        [0.26112616, 0.04749179, 0.5648631, 0.49367487, 0.30186796],
        [0.7722155, 0.15843058, 0.81675994, 0.5944828, 0.36659157],
    ],
    np.float32,
)
S1 = np.array(
    [
        [0.28660142, 0.96163845, 0.90713096, 0.19480228, 0.7480626],
        [0.20130682, 0.6098064, 0.79588807, 0.47227204, 0.76473117],
        [0.6492506, 0.89254606, 0.38631046, 0.6198666, 0.07802606],
        [0.5717535, 0.20132554, 0.49882472, 0.57300293, 0.63759196],
        [0.83545613, 0.9281404, 0.41796863, 0.37836158, 0.49093032],
        [0.041658044, 0.31048846, 0.6531997, 0.4824263, 0.15179074],
        [0.21201706, 0.38709116, 0.69998765, 0.19076931, 0.38351476],
        [0.096025586, 0.588853, 0.93397903, 0.41272914, 0.8274157],
    ],
    np.float32,
)
ATTEN = S0.reshape(-1)[:24].reshape(8, 3)


def initial_state(num_beams, num_hyps_per_beam, max_steps, src_len, best=MIN_SCORE):
    """The state BeamSearchHelper starts from, in beam_search_step's argument order."""
    n = num_beams * num_hyps_per_beam
    return [
        np.full([num_beams], best, np.float32),
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


# The defaults of Lingvo's op test helper, which differ from the op's.
TEST_HELPER_DEFAULTS = dict(
    eos_id=2,
    beam_size=3.0,
    valid_eos_max_logit_delta=0.1,
    beam_independence=True,
    local_eos_threshold=-100.0,
)


def run_steps(
    steps, num_beams, max_steps, atten=None, best=MIN_SCORE, is_last_chunk=None, **kwargs
):
    """Runs one step per score matrix in `steps`; returns the final outputs and all of them."""
    steps = [np.asarray(s, np.float32) for s in steps]
    n = steps[0].shape[0]
    k = n // num_beams
    options = dict(TEST_HELPER_DEFAULTS)
    if kwargs.get("merge_paths"):
        options["eoc_id"] = 0
    options.update(kwargs)
    src_len = 0 if atten is None else np.asarray(atten).shape[1]
    atten = np.zeros([n, src_len], np.float32) if atten is None else atten
    state = initial_state(num_beams, k, max_steps, src_len, best)
    history = []
    for t, scores in enumerate(steps):
        last_chunk = None
        if is_last_chunk is not None:
            last_chunk = np.asarray(is_last_chunk[t], bool)
        elif options.get("eoc_id", -1) >= 0:
            last_chunk = np.full([n], bool(options.get("merge_paths")))
        out = ops.beam_search_step(
            scores,
            atten,
            *state[:2],
            *state[2:10],
            state[10],
            last_chunk,
            t,
            num_hyps_per_beam=k,
            **options,
        )
        state = list(out[:11])
        history.append(out)
    return out, history


def done_hyp(out, t, slot):
    """(terminal, ids, scores, atten) of the hyp terminated at (t, slot), from the arrays."""
    scores, hyps, prev = out[2], out[3], out[4]
    done, done_scores, done_atten, atten = out[5], out[6], out[8], out[9]
    assert done[t, slot] >= 0, f"nothing terminated at {(t, slot)}"
    ids, local, vecs = [], [], []
    cur = slot
    for s in range(t - 1, -1, -1):
        ids.append(hyps[s, cur])
        local.append(scores[s, cur])
        vecs.append(atten[s, cur])
        cur = prev[s, cur]
    ids = [*ids[::-1], done[t, slot]]
    local = [*local[::-1], done_scores[t, slot]]
    vecs = [*vecs[::-1], done_atten[t, slot]]
    return int(done[t, slot]), ids, np.array(local), np.array(vecs)


def done_slots(out):
    return sorted(map(tuple, np.argwhere(out[5] >= 0).tolist()))


# ----------------------------------------------------------------------------
# Reference vectors of lingvo/core/ops/beam_search_step_op_test.py (spec section 8)


@pytest.mark.parametrize("atten_vecs", [True, False])
def test_beam_search_op(atten_vecs):
    out, _ = run_steps(
        [S0, S1],
        num_beams=2,
        max_steps=6,
        atten=ATTEN,
        best=0.0,
        atten_vecs_in_hypothesis_protos=atten_vecs,
    )
    best, cum, scores, hyps, prev, _done, _, _, done_atten, atten, beam_done, all_done = out
    np.testing.assert_allclose(best, [1.769434, 1.640316], rtol=1e-6)
    np.testing.assert_allclose(
        cum,
        [1.823942, 1.609159, 1.610366, 1.454234, 1.348811, 1.3167, 1.346274, 1.045735],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        scores[0],
        [
            0.86230338,
            0.84442794,
            0.45372832,
            0.38127339,
            0.42067075,
            0.25818801,
            0.38612545,
            0.18693292,
        ],
    )
    np.testing.assert_allclose(
        scores[1],
        [
            0.96163845,
            0.76473117,
            0.74806261,
            0.60980642,
            0.9281404,
            0.47227204,
            0.89254606,
            0.20130682,
        ],
    )
    assert not scores[2:].any() and not hyps[2:].any() and not prev[2:].any()
    np.testing.assert_array_equal(hyps[:2], [[1, 0, 0, 3, 4, 1, 3, 4], [1, 4, 4, 1, 1, 3, 1, 0]])
    np.testing.assert_array_equal(prev[:2], [[0, 1, 0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 4, 1, 2, 1]])
    row0 = np.array([[0.45372832, 0.86230338, 0.65504861], [0.38612545, 0.42067075, 0.84442794]])
    np.testing.assert_allclose(atten[0], np.tile(row0, [4, 1]))
    expected_row1 = np.tile(row0, [4, 1])
    expected_row1[4] = [0.0532794, 0.53777719, 0.07609642]
    expected_row1[6] = [0.25818801, 0.03645897, 0.38127339]
    np.testing.assert_allclose(atten[1], expected_row1)
    assert not all_done
    np.testing.assert_array_equal(beam_done, [False, False])

    terminal, ids, local, vecs = done_hyp(out, 1, 5)
    assert (terminal, ids, 5 % 2) == (2, [1, 2], 1)
    np.testing.assert_allclose(local, [0.25818801, 0.65319967])
    if atten_vecs:
        np.testing.assert_allclose(
            vecs, [[0.38612545, 0.42067075, 0.84442794], [0.45298624, 0.53518069, 0.57700801]]
        )
    else:
        assert not done_atten.any()
    # Not asserted by Lingvo's test; its validating model found these too.
    assert done_slots(out) == [(1, 0), (1, 1), (1, 5), (1, 6), (1, 7)]


STEP_A = np.log([[0.6, 0.4, 1e-7]] * 2)
STEP_B = np.log([[0.55, 0.45, 1e-7], [0.05, 0.95, 1e-7]])


def test_two_steps_small_vocab_3():
    out, _ = run_steps([STEP_A, STEP_B], num_beams=1, max_steps=3)
    np.testing.assert_allclose(out[1], np.log([0.4 * 0.95, 0.6 * 0.55]), rtol=1e-6)
    np.testing.assert_allclose(out[2][:2], np.log([[0.6, 0.4], [0.95, 0.55]]), rtol=1e-6)
    np.testing.assert_array_equal(out[3], [[0, 1], [1, 0], [0, 0]])
    np.testing.assert_array_equal(out[4], [[0, 0], [1, 0], [0, 0]])
    assert done_slots(out) == []


def test_three_steps_eos():
    out, _ = run_steps([STEP_A, STEP_B, np.log([[0.05, 0.05, 0.9]] * 2)], num_beams=1, max_steps=3)
    np.testing.assert_allclose(out[0], [np.log(0.4 * 0.95 * 0.9)], rtol=1e-6)
    np.testing.assert_allclose(out[1], [np.log(0.4 * 0.95 * 0.05)] * 2, rtol=1e-6)
    np.testing.assert_array_equal(out[3][2], [0, 1])
    np.testing.assert_array_equal(out[4][2], [0, 0])
    assert done_slots(out) == [(2, 0), (2, 1)]
    _, ids, local, vecs = done_hyp(out, 2, 0)
    assert ids == [1, 1, 2] and vecs.shape == (3, 0)
    np.testing.assert_allclose(local, np.log([0.4, 0.95, 0.9]), rtol=1e-6)
    _, ids, local, _ = done_hyp(out, 2, 1)
    assert ids == [0, 0, 2]
    np.testing.assert_allclose(local, np.log([0.6, 0.55, 0.9]), rtol=1e-6)


@pytest.mark.parametrize("force", [False, True])
def test_three_steps_force_eos(force):
    last = np.log([[0.45, 0.44, 0.01], [0.5, 0.5, 0.01]])
    out, _ = run_steps(
        [STEP_A, STEP_B, last], num_beams=1, max_steps=3, force_eos_in_last_step=force
    )
    if not force:
        assert done_slots(out) == []
        np.testing.assert_allclose(out[0], [MIN_SCORE])
        np.testing.assert_allclose(
            out[1], np.log([0.4 * 0.95 * 0.45, 0.4 * 0.95 * 0.44]), rtol=1e-6
        )
        return
    np.testing.assert_allclose(out[0], [np.log(0.4 * 0.95 * 0.01)], rtol=1e-6)
    _, ids, local, _ = done_hyp(out, 2, 0)
    assert ids == [1, 1, 2]
    np.testing.assert_allclose(local, np.log([0.4, 0.95, 0.01]), rtol=1e-6)
    assert done_hyp(out, 2, 1)[1] == [0, 0, 2]


def test_v2_smoke():
    out, _ = run_steps([STEP_A], num_beams=1, max_steps=3)
    np.testing.assert_array_equal(out[10], [False])


def test_nan_scores_raise():
    with pytest.raises(ValueError, match="model is producing NaNs in the output"):
        run_steps([np.full([2, 3], np.nan)], num_beams=1, max_steps=3)


@pytest.mark.parametrize("independence", [False, True])
def test_v2_three_steps(independence):
    steps = [STEP_A, STEP_B, np.log([[1e-7, 1, 1e-7]] * 2), np.log([[0.05, 0.05, 0.9]] * 2)]
    out, _ = run_steps(steps, num_beams=1, max_steps=4, beam_independence=independence)
    _, ids, local, _ = done_hyp(out, 3, 0)
    assert ids == [1, 1, 1, 2]
    np.testing.assert_allclose(local, [-0.91629070, -0.05129331, 0, -0.10536052], atol=1e-6)
    _, ids, local, _ = done_hyp(out, 3, 1)
    assert ids == [0, 0, 1, 2]
    np.testing.assert_allclose(local, [-0.51082557, -0.59783697, 0, -0.10536052], atol=1e-6)


@pytest.mark.parametrize("independence", [False, True])
def test_v2_independence(independence):
    # Beam 0 plays the three-step game above; beam 1 terminates at step 1.
    steps = [
        np.log([[0.6, 0.4, 1e-7], [0.2, 0.8, 1e-7], [0.6, 0.4, 1e-7], [0.2, 0.8, 1e-7]]),
        np.log([[0.55, 0.45, 1e-7], [0.1, 0.3, 0.6], [0.05, 0.95, 1e-7], [0.05, 0.9, 0.05]]),
        np.log([[1e-7, 1, 1e-7]] * 4),
        np.log([[0.05, 0.05, 0.9]] * 4),
    ]
    out, history = run_steps(
        steps, num_beams=2, max_steps=4, beam_size=0.1, beam_independence=independence
    )
    _, ids, local, _ = done_hyp(out, 1, 1)
    assert ids == [1, 2]
    np.testing.assert_allclose(local, [-0.223144, -0.510826], atol=1e-6)
    assert done_hyp(out, 3, 0)[1] == [1, 1, 1, 2]
    assert done_hyp(out, 3, 2)[1] == [0, 0, 1, 2]
    if independence:
        assert (out[5][2:, [1, 3]] == -1).all()
    else:
        _, ids, local, _ = done_hyp(out, 3, 1)
        assert ids == [1, 1, 1, 2]
        np.testing.assert_allclose(local, [-0.22314355, -1.20397282, 0, -0.10536052], atol=1e-6)
        _, ids, local, _ = done_hyp(out, 3, 3)
        assert ids == [0, 1, 1, 2]
        np.testing.assert_allclose(local, [-1.609438, -0.105361, 0, -0.105361], atol=1e-6)
        flags = [h[10].tolist() for h in history[:3]]
        assert flags == [[False, False], [False, True], [False, True]]
    np.testing.assert_array_equal(out[10], [True, True])


STOP_STEP = np.log([[0.05, 0.05, 0.9], [0.05, 0.9, 0.05]])


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(beam_size=3.0), False),
        (dict(beam_size=0.1), True),
        (dict(beam_size=0.1, ensure_full_beam=True), False),
        (dict(beam_size=0.1, local_eos_threshold=-100.0), True),
        (dict(beam_size=0.1, local_eos_threshold=-0.05), False),
    ],
)
def test_stopping(kwargs, expected):
    out, _ = run_steps([STOP_STEP], num_beams=1, max_steps=3, **kwargs)
    assert out[11] is expected
    np.testing.assert_array_equal(out[10], [expected])


@pytest.mark.parametrize("ensure_full_beam", [False, True])
@pytest.mark.parametrize(
    "beam_size, threshold, expected", [(3.0, -1.0, False), (0.1, -1.0, True), (3.0, -100.0, False)]
)
def test_ensure_full_beam_more_strict(ensure_full_beam, beam_size, threshold, expected):
    steps = [np.log([[0.1, 0.1, 0.8]] * 2), np.log([[0.1, 0.1, 0.8], [0.9, 0.05, 0.05]])]
    out, _ = run_steps(
        steps,
        num_beams=1,
        max_steps=4,
        beam_size=beam_size,
        local_eos_threshold=threshold,
        ensure_full_beam=ensure_full_beam,
    )
    assert out[11] is expected


def test_ensure_full_beam_two_beams():
    steps = [
        np.log([[0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]]),
        np.log([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05], [0.1, 0.1, 0.8]]),
    ]
    out, _ = run_steps(
        steps,
        num_beams=2,
        max_steps=4,
        beam_size=2.0,
        local_eos_threshold=-1.0,
        ensure_full_beam=True,
    )
    np.testing.assert_array_equal(out[10], [False, True])


def test_merge_paths_terminate_with_eoc():
    steps = [[[-10, -1, -10, 0], [-10] * 4], [[-0.3, -1.5, -10, -10], [-0.5, -2, -10, -10]]]
    out, _ = run_steps(
        steps, num_beams=1, max_steps=3, merge_paths=True, valid_eos_max_logit_delta=5.0
    )
    np.testing.assert_array_equal(out[10], [False])
    assert done_slots(out) == [(1, 0), (1, 1)]
    terminal, ids, local, _ = done_hyp(out, 1, 0)
    assert (terminal, ids) == (0, [3, 0])
    np.testing.assert_allclose(local * 0 + out[7][1, 0] / 2, [-0.15, -0.15], rtol=1e-6)
    terminal, ids, _, _ = done_hyp(out, 1, 1)
    assert (terminal, ids) == (0, [1, 0])
    np.testing.assert_allclose(out[7][1, 1] / 2, -0.75, rtol=1e-6)


def test_merge_paths_eoc_versus_eos():
    steps = [
        [[-1, -10, -10, 0], [-10] * 4],
        [[-0.6, -10, -10, -0.1], [-0.5, -10, -10, -1.31]],
        [[-2.3, -10, -2.6, -9.7], [-2.4, -10, -2.1, -9]],
    ]
    last_chunk = [[False, False], [False, False], [True, True]]
    out, _ = run_steps(
        steps,
        num_beams=1,
        max_steps=3,
        merge_paths=True,
        valid_eos_max_logit_delta=5.0,
        is_last_chunk=last_chunk,
    )
    np.testing.assert_array_equal(out[10], [True])
    assert done_slots(out) == [(2, 0), (2, 1)]
    terminal, ids, _, _ = done_hyp(out, 2, 0)
    assert (terminal, ids) == (2, [3, 3, 2])
    np.testing.assert_allclose(out[7][2, 0] / 3, -0.9, rtol=1e-5)
    terminal, ids, _, _ = done_hyp(out, 2, 1)
    assert (terminal, ids) == (0, [3, 0, 0])
    np.testing.assert_allclose(out[7][2, 1] / 3, -1.0, rtol=1e-5)


# ----------------------------------------------------------------------------
# A plain numpy model of the step, for random cross-checks.


def _higher_key(c):
    word, slot, _local, glob = c
    return (-glob, word, slot)


def _log_sum_exp(a, b):
    """float32 log(e^a + e^b) as the kernel computes it: max + log(sum of shifted exps)."""
    m = max(a, b)
    shifted = np.float32(np.exp(np.float64(a - m))) + np.float32(np.exp(np.float64(b - m)))
    return np.float32(m + np.float32(np.log(np.float64(shifted))))


class _MergingPool:
    """Spec section 2.4 D with merge_paths: a bounded buffer of one beam's candidates.

    Candidates whose label sequences (epsilon-free prefix plus word, the word dropped when it
    is the epsilon) are equal merge: the better one represents both with the log-sum-exp of
    their global scores. When the buffer holds k * factor entries it is cut to the best k,
    and from then on only candidates ranking above the entry at position k - 1 get in.
    """

    def __init__(self, k, factor, epsilon, prefixes):
        self.k, self.limit, self.epsilon, self.prefixes = k, max(k * factor, k), epsilon, prefixes
        self.items, self.cut, self.merges = [], False, 0

    def _labels(self, c):
        prefix = self.prefixes[c[1]]
        return tuple(prefix) if c[0] == self.epsilon else (*prefix, c[0])

    def add(self, c):
        if self.cut and not _higher_key(c) < _higher_key(self.items[self.k - 1]):
            return
        for pos, old in enumerate(self.items):
            if self._labels(c) == self._labels(old):
                better = c if _higher_key(c) < _higher_key(old) else old
                self.items[pos] = (*better[:3], _log_sum_exp(c[3], old[3]))
                self.merges += 1
                return
        self.items.append(c)
        if len(self.items) >= self.limit:
            self._cut()

    def _cut(self):
        self.items = sorted(self.items, key=_higher_key)[: self.k]
        self.cut = True

    def best(self):
        return sorted(self.items, key=_higher_key)[: self.k]


def numpy_beam_search_step(
    scores,
    atten_probs,
    state,
    is_last_chunk,
    t,
    *,
    eos_id,
    beam_size,
    num_hyps_per_beam,
    eoc_id=-1,
    valid_eos_max_logit_delta=5.0,
    local_eos_threshold=-100.0,
    allow_empty_terminated_hyp=True,
    ensure_full_beam=False,
    force_eos_in_last_step=False,
    force_eos_in_top_k=False,
    force_last_chunk_eoc_in_top_k=False,
    beam_independence=False,
    merge_paths=False,
    merged_topk_buffer_size_factor=2,
    stats=None,
):
    """Spec section 2.4, written for clarity: full sorts, float32 arithmetic."""
    best, cum, h_scores, h_hyps, h_prev, done, d_scores, d_cum, d_atten, h_atten, beam_done = [
        np.array(a, copy=True) for a in state
    ]
    n, _ = scores.shape
    k = num_hyps_per_beam
    b_count = n // k
    m = k + 1 + (eoc_id >= 0)
    last_step = force_eos_in_last_step and t == h_hyps.shape[0] - 1
    skip = beam_done.copy() if beam_independence else np.zeros(b_count, bool)
    pools = [[] for _ in range(b_count)]
    prefixes = {}
    if merge_paths:
        pools = [
            _MergingPool(k, merged_topk_buffer_size_factor, eoc_id, prefixes)
            for _ in range(b_count)
        ]
    terminal = {}
    for i in range(n):
        b = i % b_count
        if (t == 0 and i >= b_count) or skip[b]:
            continue
        prefix, cur = [], i
        for s in range(t - 1, -1, -1):
            if h_hyps[s, cur] != eoc_id:
                prefix.append(int(h_hyps[s, cur]))
            cur = h_prev[s, cur]
        prefix.reverse()
        prefixes[i] = prefix
        glob = (cum[i] + scores[i]).astype(np.float32)
        cands = [
            (w, i, scores[i, w], glob[w]) for w in range(scores.shape[1]) if not np.isnan(glob[w])
        ]
        if last_step:
            cands.sort(key=lambda c: (c[0] != eos_id, *_higher_key(c)))
            entries = sorted(cands[:m], key=_higher_key)
        else:
            entries = sorted(cands, key=_higher_key)[:m]
        eos = (eos_id, i, scores[i, eos_id], glob[eos_id])
        if force_eos_in_top_k and all(e[0] != eos_id for e in entries):
            entries[-1] = eos
        chunk = eoc_id >= 0 and bool(is_last_chunk[i])
        if force_last_chunk_eoc_in_top_k and chunk and all(e[0] != eoc_id for e in entries):
            entries = [*entries[:-2], (eoc_id, i, scores[i, eoc_id], glob[eoc_id]), entries[-1]]
        threshold = np.float32(entries[0][3] - np.float32(valid_eos_max_logit_delta))
        for e in entries:
            if e[0] == eos_id:
                if last_step or (e[3] > threshold and e[2] > local_eos_threshold):
                    terminal[i] = e
            elif chunk and e[0] == eoc_id:
                if (
                    e[3] > threshold
                    and e[2] > local_eos_threshold
                    and (allow_empty_terminated_hyp or prefix)
                ):
                    terminal[i] = e
            elif merge_paths:
                pools[b].add(e)
            else:
                pools[b].append(e)
    for b in range(b_count):
        if skip[b]:
            continue
        if merge_paths and stats is not None:
            stats["merges"] = stats.get("merges", 0) + pools[b].merges
        chosen = pools[b].best() if merge_paths else sorted(pools[b], key=_higher_key)[:k]
        for j in range(k):
            word, src, local, glob = chosen[j] if j < len(chosen) else (0, 0, 0.0, 0.0)
            slot = j * b_count + b
            h_scores[t, slot], cum[slot], h_hyps[t, slot], h_prev[t, slot] = local, glob, word, src
            h_atten[t, slot] = atten_probs[src]
    for i, (word, _, local, glob) in terminal.items():
        b = i % b_count
        best[b] = max(best[b], glob)
        done[t, i], d_scores[t, i], d_cum[t, i], d_atten[t, i] = word, local, glob, atten_probs[i]
    for b in range(b_count):
        if beam_done[b]:
            continue
        slots = [j * b_count + b for j in range(k)]
        if ensure_full_beam and (done[: t + 1, slots] >= 0).sum() < k:
            continue
        beam_done[b] = not any(cum[s] > best[b] - np.float32(beam_size) for s in slots)
    return [
        best,
        cum,
        h_scores,
        h_hyps,
        h_prev,
        done,
        d_scores,
        d_cum,
        d_atten,
        h_atten,
        beam_done,
        bool(beam_done.all()),
    ]


STATE_NAMES = [
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
    "all_done",
]

RANDOM_CONFIGS = [
    dict(),
    dict(eoc_id=3, valid_eos_max_logit_delta=2.0),
    dict(eoc_id=3, force_last_chunk_eoc_in_top_k=True, allow_empty_terminated_hyp=False),
    dict(force_eos_in_top_k=True, valid_eos_max_logit_delta=0.5, local_eos_threshold=-2.0),
    dict(force_eos_in_last_step=True, ensure_full_beam=True, beam_size=0.5),
    dict(beam_independence=True, beam_size=0.3, valid_eos_max_logit_delta=3.0),
]


@pytest.mark.parametrize("config_index", range(len(RANDOM_CONFIGS)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_numpy_model_on_random_searches(config_index, seed):
    config = dict(RANDOM_CONFIGS[config_index])
    rng = np.random.default_rng(seed * 10 + config_index)
    num_beams, k, vocab, src_len, max_steps = 3, 3, 11, 4, 6
    n = num_beams * k
    kwargs = dict(eos_id=2, beam_size=2.0, num_hyps_per_beam=k)
    kwargs.update(config)
    ours = initial_state(num_beams, k, max_steps, src_len)
    model = [np.array(a, copy=True) for a in ours]
    for t in range(max_steps):
        # Coarse values make ties in global scores common, so the tie-breaks are tested.
        scores = (np.round(rng.normal(size=[n, vocab]) * 2) / 2 - 1).astype(np.float32)
        atten = rng.random([n, src_len]).astype(np.float32)
        last_chunk = rng.random(n) < 0.5
        got = ops.beam_search_step(scores, atten, *ours, last_chunk, t, **kwargs)
        want = numpy_beam_search_step(scores, atten, model, last_chunk, t, **kwargs)
        for name, g, w in zip(STATE_NAMES, got, want, strict=True):
            np.testing.assert_array_equal(g, w, err_msg=f"{name} at step {t}")
        ours, model = list(got[:11]), want[:11]


MERGE_CONFIGS = [
    dict(),
    dict(merged_topk_buffer_size_factor=4, valid_eos_max_logit_delta=2.0),
    dict(merged_topk_buffer_size_factor=3, allow_empty_terminated_hyp=False),
    dict(force_last_chunk_eoc_in_top_k=True, local_eos_threshold=-1.5),
]


@pytest.mark.parametrize("config_index", range(len(MERGE_CONFIGS)))
@pytest.mark.parametrize("seed", range(4))
def test_merge_paths_matches_numpy_model(config_index, seed):
    # A vocabulary of 6 (eoc 0, eos 2) with 3 hyps per beam: every hyp offers 5 of the 6
    # words. Favouring the epsilon keeps hyps of a beam aligned, so that extensions spelling
    # the same labels meet in the pool and merge; a weaker eos keeps hyps in the beam.
    rng = np.random.default_rng(1000 + seed * 10 + config_index)
    num_beams, k, vocab, src_len, max_steps = 2, 3, 6, 3, 10
    bias = np.array([1.5, 0.0, -1.0, 0.0, 0.0, 0.0])
    n = num_beams * k
    kwargs = dict(eos_id=2, eoc_id=0, merge_paths=True, beam_size=3.0, num_hyps_per_beam=k)
    kwargs.update(MERGE_CONFIGS[config_index])
    ours = initial_state(num_beams, k, max_steps, src_len)
    model = [np.array(a, copy=True) for a in ours]
    stats = {}
    for t in range(max_steps):
        # Log-probabilities on a coarse grid: equal global scores (ties) are common too.
        logits = np.round(rng.normal(size=[n, vocab]) * 2) / 2 + bias
        scores = (logits - np.log(np.exp(logits).sum(1, keepdims=True))).astype(np.float32)
        atten = rng.random([n, src_len]).astype(np.float32)
        last_chunk = rng.random(n) < 0.3
        got = ops.beam_search_step(scores, atten, *ours, last_chunk, t, **kwargs)
        want = numpy_beam_search_step(scores, atten, model, last_chunk, t, stats=stats, **kwargs)
        for name, g, w in zip(STATE_NAMES, got, want, strict=True):
            np.testing.assert_array_equal(g, w, err_msg=f"{name} at step {t}")
        ours, model = list(got[:11]), want[:11]
    assert stats["merges"] > 0
    assert (ours[5] >= 0).any(), "no hyp terminated"


def _merge_paths_reference_cases():
    path = pathlib.Path(__file__).resolve().parent / "data" / "merge_paths_reference.json"
    return json.loads(path.read_text())


@pytest.mark.parametrize("case", _merge_paths_reference_cases(), ids=lambda case: case["name"])
def test_merge_paths_matches_lingvo_0_14_2(case):
    # Lingvo 0.14.2's own op on the first search of each MERGE_CONFIGS entry above (the same
    # inputs, in which merges happen; data/make_merge_paths_reference.py).
    attrs = case["attrs"]
    k = attrs["num_hyps_per_beam"]
    first = case["steps"][0]
    n, src_len = np.asarray(first["atten_probs"]).shape
    state = initial_state(n // k, k, len(case["steps"]), src_len)
    for t, step in enumerate(case["steps"]):
        out = ops.beam_search_step(
            np.asarray(step["scores"], np.float32),
            np.asarray(step["atten_probs"], np.float32),
            *state,
            np.asarray(step["is_last_chunk"], bool),
            t,
            **attrs,
        )
        state = list(out[:11])
    want = case["expected"]
    for name, index in [
        ("best_scores", 0),
        ("cumulative_scores", 1),
        ("scores", 2),
        ("hyps", 3),
        ("prev_hyps", 4),
        ("atten_probs", 9),
        ("beam_done", 10),
    ]:
        np.testing.assert_array_equal(
            out[index], np.asarray(want[name], out[index].dtype), err_msg=name
        )
    assert done_slots(out) == sorted((step, slot) for step, slot, *_ in want["done_hyps"])
    for step, slot, beam_id, ids, scores in want["done_hyps"]:
        _, got_ids, _, _ = done_hyp(out, step, slot)
        assert beam_id == slot % (n // k)
        assert [int(i) for i in got_ids] == ids
        # With merged paths every step of a terminated hyp scores its global score over its
        # length, as Lingvo records it.
        average = np.float32(out[7][step, slot] / np.float32(step + 1))
        np.testing.assert_array_equal(np.float32(scores), np.full(len(ids), average))


def test_large_vocab_matches_full_sort():
    # The blocked scan must agree with a full sort, block edges and tail included.
    rng = np.random.default_rng(7)
    num_beams, k, vocab = 4, 4, 32_003
    n = num_beams * k
    scores = rng.normal(size=[n, vocab]).astype(np.float32)
    scores[3, 32_000:] = 10.0  # the winners sit in the scalar tail
    cum = rng.normal(size=[n]).astype(np.float32)
    state = initial_state(num_beams, k, 2, 1)
    state[1] = cum
    atten = np.ones([n, 1], np.float32)
    got = ops.beam_search_step(
        scores,
        atten,
        *state,
        None,
        1,
        eos_id=2,
        beam_size=3.0,
        num_hyps_per_beam=k,
        valid_eos_max_logit_delta=0.0,
    )
    want = numpy_beam_search_step(
        scores,
        atten,
        state,
        None,
        1,
        eos_id=2,
        beam_size=3.0,
        num_hyps_per_beam=k,
        valid_eos_max_logit_delta=0.0,
    )
    for g, w in zip(got, want, strict=False):
        np.testing.assert_array_equal(g, w)


# ----------------------------------------------------------------------------
# Calling conventions, edge cases, errors


def _one_step_args(n=4, num_beams=2, vocab=5, src_len=3, max_steps=3):
    rng = np.random.default_rng(0)
    scores = np.log(rng.random([n, vocab])).astype(np.float32)
    atten = rng.random([n, src_len]).astype(np.float32)
    return [scores, atten, *initial_state(num_beams, n // num_beams, max_steps, src_len), None]


ATTRS = dict(eos_id=2, beam_size=3.0, num_hyps_per_beam=2)


def test_inputs_are_not_modified_unless_inplace():
    args = _one_step_args()
    before = [np.array(a, copy=True) for a in args[:-1]]
    out = ops.beam_search_step(*args, 0, **ATTRS)
    for a, b in zip(args[:-1], before, strict=False):
        np.testing.assert_array_equal(a, b)
    out_inplace = ops.beam_search_step(*args, 0, inplace=True, **ATTRS)
    for got, arg in zip(out_inplace[:11], args[2:13], strict=False):
        assert got is arg
    for g, w in zip(out, out_inplace, strict=False):
        np.testing.assert_array_equal(g, w)


def test_inplace_needs_exact_arrays():
    args = _one_step_args()
    args[4] = args[4].astype(np.float64)
    with pytest.raises(ValueError, match="in_scores must be a writable C-contiguous float32"):
        ops.beam_search_step(*args, 0, inplace=True, **ATTRS)


def test_other_dtypes_and_none_beam_done_are_accepted():
    args = _one_step_args()
    want = ops.beam_search_step(*args, 0, **ATTRS)
    converted = [a.astype(np.float64) if a.dtype == np.float32 else a for a in args[:-1]]
    converted[12] = None
    got = ops.beam_search_step(*converted, None, 0, **ATTRS)
    for g, w in zip(got, want, strict=False):
        np.testing.assert_array_equal(g, w)
    assert got[0].dtype == np.float32 and got[3].dtype == np.int32 and got[10].dtype == bool


def test_zero_source_length():
    args = _one_step_args(src_len=0)
    out = ops.beam_search_step(*args, 0, **ATTRS)
    assert out[9].shape == (3, 4, 0)


def test_beam_short_of_candidates_gets_zero_records():
    # V = 2 with eos = 1: each hyp has one non-eos word, so a beam of K = 3
    # at step 0 (one expanded hyp) fills one slot; the rest are zero records.
    args = _one_step_args(n=3, num_beams=1, vocab=2)
    out = ops.beam_search_step(*args, 0, eos_id=1, beam_size=3.0, num_hyps_per_beam=3)
    np.testing.assert_array_equal(out[3][0], [0, 0, 0])
    np.testing.assert_array_equal(out[1][1:], [0.0, 0.0])


def test_releases_the_gil():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=[64, 32_000]).astype(np.float32)
    state = initial_state(16, 4, 4, 8)
    atten = np.zeros([64, 8], np.float32)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)

    thread = threading.Thread(target=count)
    thread.start()
    try:
        for t in range(4):
            state = list(
                ops.beam_search_step(
                    scores, atten, *state, None, t, eos_id=2, beam_size=3.0, num_hyps_per_beam=4
                )[:11]
            )
    finally:
        stop.set()
        thread.join()
    assert ticks


@pytest.mark.parametrize(
    "index, bad, message",
    [
        (0, np.zeros([4]), r"scores must have shape \[N, V\], got \(4,\)"),
        (1, np.zeros([3, 3]), r"atten_probs must have shape \[N, S\] with \[N\] = \[4\]"),
        (2, np.zeros([3]), r"N = B \* num_hyps_per_beam .* B = best_scores.shape\[0\] = 3"),
        (
            3,
            np.zeros([5]),
            r"cumulative_scores must have shape \[N\] with \[N\] = \[4\], got \(5,\)",
        ),
        (4, np.zeros([2, 4]), r"in_scores must have shape \[T, N\] with \[T, N\] = \[3, 4\]"),
        (6, np.zeros([3, 5], np.int32), r"in_prev_hyps must have shape \[T, N\]"),
        (7, np.zeros([3, 4, 1], np.int32), r"in_done_hyps must have shape \[T, N\]"),
        (
            10,
            np.zeros([3, 4, 2]),
            r"in_done_atten_probs must have shape \[T, N, S\] .* = \[3, 4, 3\]",
        ),
        (11, np.zeros([3, 4]), r"in_atten_probs must have shape \[T, N, S\]"),
        (12, np.zeros([3], bool), r"in_beam_done must have shape \[B\] with \[B\] = \[2\]"),
    ],
)
def test_shape_errors_name_the_input(index, bad, message):
    args = _one_step_args()
    args[index] = bad
    with pytest.raises(ValueError, match=message):
        ops.beam_search_step(*args, 0, **ATTRS)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(eos_id=5), r"eos_id must be in \[0, vocab\) = \[0, 5\)"),
        (dict(eoc_id=7), r"eoc_id must be -1 or in \[0, vocab\)"),
        (dict(merge_paths=True), "Paths can only be merged for an epsilon-emitting model"),
        (dict(num_hyps_per_beam=4), r"N = B \* num_hyps_per_beam"),
        (dict(cur_step=3), r"cur_step must be in \[0, T\) = \[0, 3\)"),
        (dict(cur_step=-1), r"cur_step must be in \[0, T\)"),
        (dict(eoc_id=1, is_last_chunk=np.zeros([3], bool)), r"is_last_chunk must have shape \[N\]"),
        # Lingvo's kernel aborts the process on this (CHECK), merged paths or not.
        (dict(merged_topk_buffer_size_factor=1), "merged_topk_buffer_size_factor must be > 1"),
    ],
)
def test_value_errors(change, message):
    args = _one_step_args()
    change = dict(change)
    cur_step = change.pop("cur_step", 0)
    if "is_last_chunk" in change:
        args[-1] = change.pop("is_last_chunk")
    with pytest.raises(ValueError, match=message):
        ops.beam_search_step(*args, cur_step, **{**ATTRS, **change})


def test_bad_back_pointer_is_a_value_error():
    args = _one_step_args()
    args[6][0, 1] = 9  # in_prev_hyps, read when following prefixes for eoc
    with pytest.raises(ValueError, match=r"in_prev_hyps\[1, 1\] = 9 is not a slot"):
        args[6][1, 1] = 9
        ops.beam_search_step(*args, 2, eoc_id=0, **ATTRS)


def test_protos_in_done_hyps_are_a_type_error():
    args = _one_step_args()
    args[7] = np.full([3, 4], b"", object)
    with pytest.raises(TypeError, match="in_done_hyps must hold int32 values"):
        ops.beam_search_step(*args, 0, **ATTRS)
