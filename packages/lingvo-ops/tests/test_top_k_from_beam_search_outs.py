"""Tests of ops.top_k_from_beam_search_outs: Lingvo's test vectors, its 0.14.2 outputs, and
equivalence with hyps_from_beam_search_outs -> top_k_terminated_hyps -> unpack_hyp."""

import json
import pathlib

import numpy as np
import pytest

from lingvo import ops

DATA = pathlib.Path(__file__).resolve().parent / "data"

INPUT_NAMES = [
    "hyps",
    "prev_hyps",
    "done_hyps",
    "cumulative_scores",
    "eos_scores",
    "scores",
    "atten_probs",
    "eos_atten_probs",
    "cumulative_atten_probs",
]


def _reference_test_inputs():
    """testTopKFromBeamSearchOut of Lingvo's beam_search_step_op_test.py (spec section 8)."""
    zeros = np.zeros([3, 6], np.float32)
    zero_atten = np.zeros([3, 6, 1], np.float32)
    eos_scores = zeros.copy()
    eos_scores[0, 0] = 6
    return dict(
        hyps=np.array([[0, 1, 0, 1, 0, 1], [1, 0, 0, 1, 1, 0], [0, 1, 0, 1, 0, 0]]),
        prev_hyps=np.tile(np.arange(6), (3, 1)),
        done_hyps=np.ones([3, 6], bool),
        cumulative_scores=np.array([[1, 1, 5, 2, 3, 6], [1, 4, 2, 5, 6, 3], [10] * 6], np.float32),
        eos_scores=eos_scores,
        scores=zeros,
        atten_probs=zero_atten,
        eos_atten_probs=zero_atten,
        cumulative_atten_probs=zero_atten,
    )


REFERENCE_IDS = [[2, 0, 0], [0, 1, 2], [0, 2, 0], [1, 2, 0], [1, 1, 2], [1, 0, 2]]
REFERENCE_LENS = [1, 3, 2, 2, 3, 3]
REFERENCE_SCORES = [6, 6, 5, 6, 5, 4]


def test_reference_vectors():
    ids, lens, scores, topk_hyps = ops.top_k_from_beam_search_outs(
        **_reference_test_inputs(), num_hyps_per_beam=3, max_seq_length=3
    )
    np.testing.assert_array_equal(ids, REFERENCE_IDS)
    np.testing.assert_array_equal(lens, REFERENCE_LENS)
    np.testing.assert_array_equal(scores, REFERENCE_SCORES)
    assert ids.dtype == np.int32 and lens.dtype == np.int32 and scores.dtype == np.float32
    assert topk_hyps is None


def test_reference_vectors_length_normalized():
    _, _, scores, _ = ops.top_k_from_beam_search_outs(
        **_reference_test_inputs(),
        num_hyps_per_beam=3,
        max_seq_length=3,
        length_normalization=0.5,
    )
    expected = np.array(REFERENCE_SCORES) / np.sqrt((np.array(REFERENCE_LENS) + 5) / 5)
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    # Lingvo 0.14.2's float32 results, bit for bit.
    np.testing.assert_array_equal(
        scores,
        np.array([5.4772253, 4.7434163, 4.2257714, 5.0709252, 3.952847, 3.1622777], np.float32),
    )


def _lingvo_cases():
    return json.loads((DATA / "top_k_from_outs_reference.json").read_text())


@pytest.mark.parametrize("case", _lingvo_cases(), ids=lambda case: case["name"])
def test_matches_lingvo_0_14_2(case):
    inputs = {name: np.asarray(case["inputs"][name]) for name in INPUT_NAMES}
    inputs["done_hyps"] = inputs["done_hyps"].astype(bool)
    for name in INPUT_NAMES[3:]:
        inputs[name] = inputs[name].astype(np.float32)
    attrs = case["attrs"]
    want = case["expected"]
    ids, lens, scores, topk_hyps = ops.top_k_from_beam_search_outs(**inputs, **attrs)
    np.testing.assert_array_equal(ids, want["ids"])
    np.testing.assert_array_equal(lens, want["seq_lens"])
    np.testing.assert_array_equal(scores, np.array(want["scores"], np.float32))
    if not attrs["populate_topk_hyps"]:
        assert topk_hyps is None
        return
    hyp_ids, hyp_lens, hyp_scores, hyp_atten, normalized = topk_hyps
    k = attrs["num_hyps_per_beam"]
    rows = len(want["topk_hyps"])
    assert hyp_lens.shape == (rows // k, k)
    for row, proto in enumerate(want["topk_hyps"]):
        b, j = divmod(row, k)
        if proto is None:
            assert hyp_lens[b, j] == 0
            continue
        length = hyp_lens[b, j]
        assert proto["beam_id"] == b
        np.testing.assert_array_equal(hyp_ids[b, j, :length], proto["ids"])
        np.testing.assert_array_equal(
            hyp_scores[b, j, :length], np.array(proto["scores"], np.float32)
        )
        np.testing.assert_array_equal(
            hyp_atten[b, j, :length], np.array(proto["atten_vecs"], np.float32)
        )
        assert normalized[b, j] == np.float32(proto["normalized_score"])


def _consistent_outputs(seed, steps=6, beams=3, k=3, src_len=4, p_done=0.3):
    """Random outputs whose cumulative scores and attention are the sums along each chain,
    as a real search produces them, so that both routes must agree."""
    rng = np.random.default_rng(seed)
    n = beams * k
    hyps = rng.integers(3, 20, size=(steps, n)).astype(np.int32)
    prev = (rng.integers(0, k, size=(steps, n)) * beams + np.arange(n) % beams).astype(np.int32)
    scores = -rng.random((steps, n), dtype=np.float32)
    eos_scores = -rng.random((steps, n), dtype=np.float32)
    atten = rng.random((steps, n, src_len), dtype=np.float32) / 2
    eos_atten = rng.random((steps, n, src_len), dtype=np.float32) / 2
    done = rng.random((steps, n)) < p_done
    cum = np.zeros((steps, n), np.float32)
    for t in range(steps):
        cum[t] = (cum[t - 1, prev[t]] if t > 0 else 0) + scores[t]
    # Coverage of the hyp terminated at (t, slot): the attention along its chain, step 0
    # first, then the eos step's, summed in the order top_k_terminated_hyps sums them.
    cum_atten = np.zeros_like(atten)
    for t in range(steps):
        for slot in range(n):
            chain, cur = [], slot
            for s in range(t - 1, -1, -1):
                chain.append(atten[s, cur])
                cur = prev[s, cur]
            total = np.zeros(src_len, np.float32)
            for vec in [*chain[::-1], eos_atten[t, slot]]:
                total = total + vec
            cum_atten[t, slot] = total
    return dict(
        hyps=hyps,
        prev_hyps=prev,
        done_hyps=done,
        cumulative_scores=cum,
        eos_scores=eos_scores,
        scores=scores,
        atten_probs=atten,
        eos_atten_probs=eos_atten,
        cumulative_atten_probs=cum_atten,
    )


EQUIVALENCE_SETTINGS = [
    # (alpha, beta, r, populate): the parameterisations of Lingvo's testTopKEquivalent.
    (0.0, 0.0, 1.0, False),
    (0.0, 0.0, 1.0, True),
    (0.5, 0.0, 1.0, False),
    (0.5, 0.0, 1.0, True),
    (0.0, 0.2, 1.0, True),
    (0.5, 0.2, 1.0, True),
    (0.5, 0.2, 0.8, False),
    (0.5, 0.2, 0.8, True),
]


@pytest.mark.parametrize(("alpha", "beta", "ratio", "populate"), EQUIVALENCE_SETTINGS)
@pytest.mark.parametrize("seed", [0, 1])
def test_equivalent_to_the_three_step_route(alpha, beta, ratio, populate, seed):
    outs = _consistent_outputs(seed)
    steps, n = outs["hyps"].shape
    k = 3
    beams = n // k
    src_len = outs["atten_probs"].shape[2]
    ids, lens, scores, topk_hyps = ops.top_k_from_beam_search_outs(
        **outs,
        num_hyps_per_beam=k,
        max_seq_length=steps,
        length_normalization=alpha,
        coverage_penalty=beta,
        target_seq_length_ratio=ratio,
        populate_topk_hyps=populate,
    )
    # The three-step route: the history in beam_search_step's layout, then the n-best.
    done = np.where(outs["done_hyps"], 2, -1).astype(np.int32)
    top = ops.top_k_terminated_hyps(
        outs["scores"],
        outs["hyps"],
        outs["prev_hyps"],
        done,
        outs["eos_scores"],
        np.zeros_like(outs["eos_scores"]),  # unused without merge_paths
        outs["eos_atten_probs"],
        outs["atten_probs"],
        np.full([beams], src_len, np.int32),
        k=k,
        num_hyps_per_beam=k,
        length_normalization=alpha,
        coverage_penalty=beta,
        target_seq_length_ratio=ratio,
    )
    want_ids, want_lens, want_scores = ops.unpack_hyp(top[0], top[1], top[4], steps)
    assert (want_lens > 0).sum() >= beams, "too few terminated hyps to compare"
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(lens, want_lens)
    # The two routes compute (L + 5)^a / 5^a and ((L + 5) / 5)^a: equal up to rounding.
    np.testing.assert_allclose(scores, want_scores, rtol=2e-6, atol=1e-6)
    if not populate:
        assert topk_hyps is None
        return
    for got, want in zip(topk_hyps[:4], top[:4], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(topk_hyps[4], top[4], rtol=2e-6, atol=1e-6)


def test_rows_are_cut_to_max_seq_length_and_lengths_kept():
    outs = _consistent_outputs(3, steps=6, p_done=0.5)
    outs["done_hyps"][:3] = False  # every hyp has 4 to 6 tokens
    full = ops.top_k_from_beam_search_outs(**outs, num_hyps_per_beam=3, max_seq_length=6)
    cut = ops.top_k_from_beam_search_outs(**outs, num_hyps_per_beam=3, max_seq_length=3)
    assert (full[1] > 3).any(), "no hyp longer than the cut"
    np.testing.assert_array_equal(cut[0], full[0][:, :3])
    # Lingvo reports the full length t + 1 (and wrote the rest of the row into the next
    # rows); here the row is cut and nothing else is touched.
    np.testing.assert_array_equal(cut[1], full[1])
    np.testing.assert_array_equal(cut[2], full[2])


def test_beam_with_fewer_hyps_than_k_is_zero_padded():
    outs = _consistent_outputs(4, p_done=0.0)
    outs["done_hyps"][2, 1] = True  # one hyp in beam 1, none elsewhere
    ids, lens, scores, hyps = ops.top_k_from_beam_search_outs(
        **outs, num_hyps_per_beam=3, max_seq_length=6, populate_topk_hyps=True
    )
    np.testing.assert_array_equal(lens, [0, 0, 0, 3, 0, 0, 0, 0, 0])
    assert ids[3, 2] == 2 and (ids[np.arange(9) != 3] == 0).all()
    assert scores[3] == outs["eos_scores"][2, 1] + outs["cumulative_scores"][1, 1]
    assert (scores[np.arange(9) != 3] == 0).all()
    np.testing.assert_array_equal(hyps[1], [[0, 0, 0], [3, 0, 0], [0, 0, 0]])


def test_errors():
    outs = _consistent_outputs(5)
    call = ops.top_k_from_beam_search_outs
    bad = dict(outs, prev_hyps=outs["prev_hyps"].copy())
    bad["prev_hyps"][2, 4] = 0  # slot 4 is in beam 1, slot 0 in beam 0
    with pytest.raises(ValueError, match=r"prev_hyps\[2, 4\] = 0 is not a slot of beam 1"):
        call(**bad, num_hyps_per_beam=3, max_seq_length=6)
    with pytest.raises(ValueError, match="scores is required when populate_topk_hyps"):
        call(**dict(outs, scores=None), num_hyps_per_beam=3, max_seq_length=6,
             populate_topk_hyps=True)  # fmt: skip
    with pytest.raises(ValueError, match="cumulative_atten_probs is required when coverage"):
        call(**dict(outs, cumulative_atten_probs=None), num_hyps_per_beam=3,
             max_seq_length=6, coverage_penalty=0.1)  # fmt: skip
    with pytest.raises(ValueError, match="length_normalization and coverage_penalty must be"):
        call(**outs, num_hyps_per_beam=3, max_seq_length=6, length_normalization=-1.0)
    with pytest.raises(ValueError, match="max_seq_length must be positive"):
        call(**outs, num_hyps_per_beam=3, max_seq_length=0)
    with pytest.raises(ValueError, match="must be a multiple of num_hyps_per_beam = 4"):
        call(**outs, num_hyps_per_beam=4, max_seq_length=6)
    with pytest.raises(ValueError, match=r"eos_scores must have shape \[T, N\]"):
        call(**dict(outs, eos_scores=outs["eos_scores"][:, :3]), num_hyps_per_beam=3,
             max_seq_length=6)  # fmt: skip
    # Without populate or coverage, only the first five inputs are needed.
    needed = {name: outs[name] for name in INPUT_NAMES[:5]}
    ids, _, _, _ = call(**needed, num_hyps_per_beam=3, max_seq_length=6)
    assert ids.shape == (9, 6)
