"""Tests of BeamSearchHelper: Lingvo's reference numbers, ops path == TF path, eager == graph."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import beam_search_helper, beam_search_tf, hyps_pb
from lingvo.core.nested_map import NestedMap
from lingvo.core.tf1_random import Tf1Normal, Tf1Uniform

GRAPH_SEED, OP_SEED = 8274758, 8273747
VOCAB, SRC_LEN, MAX_STEPS, NUM_BEAMS = 12, 5, 7, 2


def test_philox_reproduces_published_uniforms():
    s0 = Tf1Uniform([8, 5], 398849988, 12345)
    np.testing.assert_array_equal(
        s0[0], np.float32([0.45372832, 0.8623034, 0.6550486, 0.38612545, 0.42067075])
    )


def MakeCallbacks(step_scores, src_len=SRC_LEN, atten=None, is_last_chunk=None):
    """Callbacks whose step-t log-probs are row t of `step_scores` [T, N, V]."""
    step_scores = tf.constant(step_scores, tf.float32)
    n = int(step_scores.shape[1])
    atten = np.zeros([n, src_len], np.float32) if atten is None else atten

    def Init(theta, encoder_outputs, num_hyps_per_beam):
        del theta, encoder_outputs, num_hyps_per_beam
        results = NestedMap(
            log_probs=tf.zeros([n, step_scores.shape[2]]), atten_probs=tf.constant(atten)
        )
        states = NestedMap(atten_probs=tf.constant(atten), step=tf.zeros([n], tf.int32))
        return results, states

    def Pre(theta, encoder_outputs, step_ids, states, num_hyps_per_beam, cur_step):
        del theta, encoder_outputs, step_ids, num_hyps_per_beam
        results = NestedMap(
            log_probs=tf.gather(step_scores, cur_step), atten_probs=tf.identity(states.atten_probs)
        )
        if is_last_chunk is not None:
            results.is_last_chunk = tf.constant(is_last_chunk)
        return results, states

    def Post(theta, encoder_outputs, new_step_ids, states):
        del theta, encoder_outputs, new_step_ids
        return states.Transform(lambda x: x + 1 if x.dtype == tf.int32 else x)

    return Init, Pre, Post


def HelperScores(k, steps=MAX_STEPS):
    n = NUM_BEAMS * k
    return np.stack([Tf1Normal([n, VOCAB], GRAPH_SEED, OP_SEED, t) for t in range(steps)])


def EncoderOutputs(seq_lengths=None):
    padding = np.ones([SRC_LEN, NUM_BEAMS], np.float32)
    padding[:4, 0] = 0.0
    padding[:3, 1] = 0.0
    out = NestedMap(padding=tf.constant(padding))
    if seq_lengths is not None:
        out.seq_lengths = tf.constant(seq_lengths, tf.int32)
    return out


def Decode(k, step_scores, *, graph=False, encoder_outputs=None, callbacks=None, **params):
    p = beam_search_helper.BeamSearchHelper.Params().Set(name="bs", num_hyps_per_beam=k)
    p.Set(target_seq_len=step_scores.shape[0], **params)
    helper = p.Instantiate()
    callbacks = callbacks or MakeCallbacks(step_scores)
    encoder_outputs = encoder_outputs or EncoderOutputs()

    def Run():
        return helper.BeamSearchDecode(NestedMap(), encoder_outputs, 0, *callbacks)

    out = tf.function(Run)() if graph else Run()
    return tf.nest.map_structure(lambda x: x.numpy() if hasattr(x, "numpy") else x, tuple(out))


K3_IDS = [
    [4, 3, 4, 3, 2, 0, 0],
    [4, 3, 11, 2, 0, 0, 0],
    [4, 3, 6, 2, 0, 0, 0],
    [6, 0, 4, 6, 6, 11, 2],
    [6, 0, 4, 6, 1, 2, 0],
    [6, 0, 4, 6, 6, 2, 0],
]
K3_SCORES = [[8.27340603, 6.26949024, 5.59490776], [9.74691486, 8.46679497, 7.14809656]]


@pytest.mark.parametrize("tf_search", [False, True])
@pytest.mark.parametrize("graph", [False, True])
def test_reference_k3(tf_search, graph):
    hyps, ids, lens, scores, _, states = Decode(
        3, HelperScores(3), graph=graph, use_tf_beam_search=tf_search
    )
    np.testing.assert_array_equal(ids, K3_IDS)
    np.testing.assert_array_equal(lens, [5, 4, 4, 7, 6, 6])
    np.testing.assert_allclose(scores, K3_SCORES, rtol=1e-6)
    assert hyps.shape == (2, 3)
    first = hyps_pb.Hypothesis.FromString(hyps[1, 0])
    assert first.beam_id == 1 and list(first.ids) == K3_IDS[3]
    assert len(first.atten_vecs) == 7 and len(first.atten_vecs[0].prob) == SRC_LEN
    np.testing.assert_allclose(first.normalized_score, K3_SCORES[1][0], rtol=1e-6)
    # Post ran once per step (the states were threaded through the loop).
    assert states.step.max() == MAX_STEPS


def test_reference_k3_with_seq_lengths_and_step_ids():
    _, ids, lens, scores, _, _ = Decode(
        3, HelperScores(3), encoder_outputs=EncoderOutputs(seq_lengths=[4, 3])
    )
    np.testing.assert_array_equal(ids, K3_IDS)
    np.testing.assert_array_equal(lens, [5, 4, 4, 7, 6, 6])
    np.testing.assert_allclose(scores, K3_SCORES, rtol=1e-6)
    init, pre, post = MakeCallbacks(HelperScores(3))

    def InitWithIds(theta, encoder_outputs, k):
        results, states = init(theta, encoder_outputs, k)
        results.step_ids = tf.zeros([6, 1], tf.int32)
        return results, states

    _, ids, _lens, scores, _, _ = Decode(3, HelperScores(3), callbacks=(InitWithIds, pre, post))
    np.testing.assert_array_equal(ids, K3_IDS)
    np.testing.assert_allclose(scores, K3_SCORES, rtol=1e-6)


@pytest.mark.parametrize("tf_search", [False, True])
def test_reference_k1(tf_search):
    hyps, ids, lens, scores, _, _ = Decode(1, HelperScores(1), use_tf_beam_search=tf_search)
    np.testing.assert_array_equal(ids, [[9, 2, 0, 0, 0, 0, 0], [0] * 7])
    np.testing.assert_array_equal(lens, [2, 0])
    np.testing.assert_allclose(scores, [[3.778749], [0.0]], rtol=1e-6)
    assert hyps[1, 0] == b""


@pytest.mark.parametrize("tf_search", [False, True])
def test_reference_k3_force_eos_in_top_k(tf_search):
    _, ids, lens, scores, _, _ = Decode(
        3, HelperScores(3), force_eos_in_top_k=True, use_tf_beam_search=tf_search
    )
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
    # The kernel runs Lingvo's 100 steps; the TF search 10 (all logits tie, so the n-best
    # only depends on the first two steps) to keep the test fast.
    for tf_search, steps in ((False, 100 if expect_hyps else 10), (True, 10)):
        _, _, lens, _, _, _ = Decode(
            3,
            np.broadcast_to(logits, [steps, 6, 300]),
            beam_size=1e5,
            force_eos_in_top_k=force,
            valid_eos_max_logit_delta=delta,
            use_tf_beam_search=tf_search,
        )
        want = [1, 2, 2, 1, 2, 2] if expect_hyps else [0] * 6
        np.testing.assert_array_equal(lens, want)


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
    logits[:, 0] = -1.0
    logits[:, 2] = eos_logit
    steps = np.broadcast_to(logits, [10, 6, 30])
    options = dict(target_eoc_id=0, force_last_chunk_eoc_in_top_k=force) if use_eoc else {}
    callbacks = MakeCallbacks(steps, is_last_chunk=np.full([6], last_chunk))
    for tf_search in (False, True):
        _, _, lens, scores, _, _ = Decode(
            3,
            steps,
            callbacks=callbacks,
            beam_size=1e5,
            valid_eos_max_logit_delta=100.0,
            use_tf_beam_search=tf_search,
            **options,
        )
        np.testing.assert_array_equal(lens, want_lens)
        np.testing.assert_allclose(scores[:, 0], [want_score] * 2)


# ----------------------------------------------------------------------------
# The TF search equals the kernel on random scores, with every option it supports.

RANDOM_OPTIONS = [
    dict(),
    dict(length_normalization=0.6, coverage_penalty=0.3, target_seq_length_ratio=0.8),
    dict(ensure_full_beam=True, beam_size=0.5, force_eos_in_last_step=True),
    dict(terminate_beams_independently=True, beam_size=0.3, valid_eos_max_logit_delta=3.0),
    dict(target_eoc_id=3, allow_empty_terminated_hyp=False, local_eos_threshold=-2.0),
    dict(force_eos_in_top_k=True, valid_eos_max_logit_delta=0.5, length_normalization=1.0),
]


@pytest.mark.parametrize("index", range(len(RANDOM_OPTIONS)))
def test_tf_search_equals_ops_search(index):
    rng = np.random.default_rng(index)
    k, vocab, steps = 3, 7, 6
    n = k * NUM_BEAMS
    step_scores = np.log(rng.dirichlet(np.full(vocab, 0.5), size=[steps, n])).astype(np.float32)
    step_scores[:, :, 2] += 1.0  # eos likely enough that hyps terminate
    atten = rng.dirichlet(np.ones(SRC_LEN), size=n).astype(np.float32)
    chunk = rng.random(n) < 0.5 if "target_eoc_id" in RANDOM_OPTIONS[index] else None
    callbacks = MakeCallbacks(step_scores, atten=atten, is_last_chunk=chunk)
    outs = [
        Decode(k, step_scores, callbacks=callbacks, use_tf_beam_search=t, **RANDOM_OPTIONS[index])
        for t in (False, True)
    ]
    (h0, ids0, lens0, s0, _, _), (h1, ids1, lens1, s1, _, _) = outs
    assert lens0.sum() > 0
    np.testing.assert_array_equal(ids0, ids1)
    np.testing.assert_array_equal(lens0, lens1)
    np.testing.assert_allclose(s0, s1, rtol=1e-6, atol=1e-6)
    for a, b in zip(h0.flat, h1.flat, strict=False):
        pa, pb = hyps_pb.Hypothesis.FromString(a), hyps_pb.Hypothesis.FromString(b)
        assert list(pa.ids) == list(pb.ids)
        np.testing.assert_allclose(pa.scores, pb.scores, rtol=1e-6)


def test_tf_step_equals_kernel_state_by_state():
    from lingvo import ops

    rng = np.random.default_rng(7)
    k, n, vocab, steps = 4, 8, 9, 5
    state = [x.numpy() for x in beam_search_helper.InitialSearchState(2, n, steps, 3)]
    tf_state = tuple(tf.constant(x) for x in state)
    for t in range(steps):
        scores = np.log(rng.dirichlet(np.ones(vocab), size=n)).astype(np.float32)
        atten = rng.random([n, 3]).astype(np.float32)
        out = ops.beam_search_step(
            scores, atten, *state, None, t, eos_id=2, beam_size=3.0, num_hyps_per_beam=k
        )
        state = list(out[:11])
        tf_state, all_done = beam_search_tf.BeamSearchStep(
            scores, atten, tf_state, None, t, eos_id=2, beam_size=3.0, num_hyps_per_beam=k
        )
        for want, got in zip(state, tf_state, strict=False):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
        assert bool(all_done) == out[11]


def test_tf_search_under_xla():
    step_scores = HelperScores(3)
    p = beam_search_helper.BeamSearchHelper.Params().Set(
        name="bs",
        num_hyps_per_beam=3,
        target_seq_len=MAX_STEPS,
        use_tf_beam_search=True,
        emit_hypothesis_protos=False,
    )
    helper = p.Instantiate()
    init, pre, post = MakeCallbacks(step_scores)

    @tf.function(jit_compile=True)
    def Run():
        out = helper.BeamSearchDecode(NestedMap(), EncoderOutputs(), 0, init, pre, post)
        return out.topk_ids, out.topk_scores

    try:
        ids, scores = Run()
    except tf.errors.InvalidArgumentError as e:  # an op without an XLA kernel on this build
        pytest.skip(f"XLA cannot compile the search here: {str(e)[:200]}")
    np.testing.assert_array_equal(ids.numpy(), K3_IDS)
    np.testing.assert_allclose(scores.numpy(), K3_SCORES, rtol=1e-6)


def test_analytic_transition_table_and_length_normalization():
    """A fixed bigram table: the best sequences and their scores are known in closed form."""
    # From sos (1) or from 3: word 3 with p=.5, eos with p=.3, word 4 with p=.2; from 4: eos .9.
    table = np.full([5, 5], 1e-9)
    table[1, [3, 2, 4]] = [0.5, 0.3, 0.2]
    table[3, [3, 2, 4]] = [0.5, 0.3, 0.2]
    table[4, 2] = 0.9
    log_table = np.log(table / table.sum(1, keepdims=True)).astype(np.float32)

    def Init(theta, encoder_outputs, k):
        n = k
        return NestedMap(log_probs=tf.zeros([n, 5]), atten_probs=tf.zeros([n, 1])), NestedMap(
            x=tf.zeros([n])
        )

    def Pre(theta, encoder_outputs, step_ids, states, k, cur_step):
        rows = tf.gather(log_table, step_ids[:, 0])
        return NestedMap(log_probs=rows, atten_probs=tf.zeros([k, 1])), states

    def Post(theta, encoder_outputs, new_step_ids, states):
        return states

    enc = NestedMap(seq_lengths=tf.constant([1]))
    lp = np.log(table / table.sum(1, keepdims=True))
    candidates = {  # sequence -> log-prob
        (2,): lp[1, 2],
        (3, 2): lp[1, 3] + lp[3, 2],
        (4, 2): lp[1, 4] + lp[4, 2],
        (3, 3, 2): 2 * lp[1, 3] + lp[3, 2],
        (3, 4, 2): lp[1, 3] + lp[3, 4] + lp[4, 2],
    }
    for alpha in (0.0, 2.0):
        want = sorted(
            candidates.items(), key=lambda kv: -kv[1] / (((len(kv[0]) + 5) / 6) ** alpha)
        )[:3]
        for tf_search in (False, True):
            p = beam_search_helper.BeamSearchHelper.Params().Set(
                name="bs",
                num_hyps_per_beam=3,
                target_seq_len=3,
                length_normalization=alpha,
                beam_size=100.0,
                use_tf_beam_search=tf_search,
            )
            out = p.Instantiate().BeamSearchDecode(NestedMap(), enc, 0, Init, Pre, Post)
            lens = out.topk_lens.numpy()
            got = [tuple(row[:n]) for row, n in zip(out.topk_ids.numpy(), lens, strict=False)]
            assert got == [seq for seq, _ in want], (alpha, got)
            norm = [s / (((len(seq) + 5) / 5) ** alpha) for seq, s in want]
            np.testing.assert_allclose(out.topk_scores.numpy()[0], norm, rtol=1e-5)
    # alpha = 0 prefers the short "eos" (log .3); alpha = 2 prefers the longer (3, 2).
    assert candidates[(2,)] > candidates[(3, 2)]


def test_analytic_coverage_penalty_and_length_normalization_rerank():
    """The bigram table above plus attention fixed by the previous word: GNMT's formula ranks."""
    table = np.full([5, 5], 1e-9)
    table[1, [3, 2, 4]] = [0.5, 0.3, 0.2]
    table[3, [3, 2, 4]] = [0.5, 0.3, 0.2]
    table[4, 2] = 0.9
    lp = np.log(table / table.sum(1, keepdims=True))
    # Attention over a 2-word source while emitting the next word, by the previous word: after
    # sos the first source word is covered, after 3 the second, after 4 only a little of it.
    atten = np.zeros([5, 2])
    atten[1], atten[3], atten[4] = [0.5, 0.0], [0.0, 0.5], [0.0, 0.1]

    def Init(theta, encoder_outputs, k):
        return NestedMap(log_probs=tf.zeros([k, 5]), atten_probs=tf.zeros([k, 2])), NestedMap(
            x=tf.zeros([k])
        )

    def Pre(theta, encoder_outputs, step_ids, states, k, cur_step):
        prev = step_ids[:, 0]
        return NestedMap(
            log_probs=tf.gather(tf.constant(lp, tf.float32), prev),
            atten_probs=tf.gather(tf.constant(atten, tf.float32), prev),
        ), states

    def Post(theta, encoder_outputs, new_step_ids, states):
        return states

    def Formula(seq, alpha, beta):
        prevs = (1, *seq[:-1])
        score = sum(lp[a, b] for a, b in zip(prevs, seq, strict=True))
        coverage = np.clip(sum(atten[a] for a in prevs), 0.001, 0.5)
        return score / (((len(seq) + 5) / 5) ** alpha) + beta * np.log(coverage).sum()

    candidates = [(2,), (3, 2), (4, 2), (3, 3, 2), (3, 4, 2)]
    rankings = {}
    for alpha, beta in ((0.0, 0.0), (0.0, 0.2), (2.0, 0.0), (2.0, 0.2)):
        want = sorted(candidates, key=lambda seq: -Formula(seq, alpha, beta))[:3]
        rankings[alpha, beta] = want
        for tf_search in (False, True):
            p = beam_search_helper.BeamSearchHelper.Params().Set(
                name="bs",
                num_hyps_per_beam=3,
                target_seq_len=3,
                length_normalization=alpha,
                coverage_penalty=beta,
                beam_size=100.0,
                use_tf_beam_search=tf_search,
            )
            enc = NestedMap(seq_lengths=tf.constant([2]))
            out = p.Instantiate().BeamSearchDecode(NestedMap(), enc, 0, Init, Pre, Post)
            lens = out.topk_lens.numpy()
            got = [tuple(row[:n]) for row, n in zip(out.topk_ids.numpy(), lens, strict=False)]
            assert got == want, (alpha, beta, tf_search, got)
            np.testing.assert_allclose(
                out.topk_scores.numpy()[0], [Formula(s, alpha, beta) for s in want], rtol=1e-5
            )
    # Each knob reorders as predicted: raw scores put the short eos-only hypothesis first;
    # the coverage penalty moves the ones covering both source words ahead; length
    # normalisation lifts two-word hyps over the eos-only one and brings in (3, 4, 2);
    # both together put the longest hyp covering both source words first.
    assert rankings[0.0, 0.0] == [(2,), (4, 2), (3, 2)]
    assert rankings[0.0, 0.2] == [(3, 2), (4, 2), (3, 4, 2)]
    assert rankings[2.0, 0.0] == [(4, 2), (2,), (3, 4, 2)]
    assert rankings[2.0, 0.2] == [(3, 4, 2), (3, 2), (3, 3, 2)]


def test_constructor_errors():
    p = beam_search_helper.BeamSearchHelper.Params().Set(name="bs")
    with pytest.raises(ValueError, match="coverage_penalty"):
        p.Copy().Set(atten_vecs_in_hypothesis_protos=False, coverage_penalty=0.2).Instantiate()
    with pytest.raises(ValueError, match="cannot both"):
        p.Copy().Set(force_eos_in_top_k=True, force_last_chunk_eoc_in_top_k=True).Instantiate()
    with pytest.raises(ValueError, match="merge_paths"):
        p.Copy().Set(merge_paths=True, target_eoc_id=0, use_tf_beam_search=True).Instantiate()


def test_merge_outputs():
    a = beam_search_helper.BeamSearchDecodeOutput(*Decode(3, HelperScores(3)))
    merged = beam_search_helper.MergeBeamSearchOutputs(4, [a, a])
    np.testing.assert_allclose(
        merged.topk_scores.numpy()[0], [K3_SCORES[0][0]] * 2 + [K3_SCORES[0][1]] * 2, rtol=1e-6
    )
    assert merged.topk_ids.shape == (8, MAX_STEPS)
    np.testing.assert_array_equal(merged.topk_ids.numpy()[:2], [K3_IDS[0]] * 2)
