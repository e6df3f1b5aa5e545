"""Tests of GreedySearchHelper and SampleSearchHelper on a fixed bigram table."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import greedy_search_helper
from lingvo.core.nested_map import NestedMap

VOCAB = 6
RNG = np.random.default_rng(3)
TABLE = np.log(RNG.dirichlet(np.full(VOCAB, 0.7), size=VOCAB)).astype(np.float32)


def Callbacks(batch):
    def Init(theta, encoder_outputs, k):
        n = batch * k
        return NestedMap(log_probs=tf.zeros([n, VOCAB]), atten_probs=tf.zeros([n, 1])), NestedMap(
            steps=tf.zeros([n], tf.int32)
        )

    def Pre(theta, encoder_outputs, step_ids, states, k, cur_step):
        log_probs = tf.gather(tf.constant(TABLE), step_ids[:, 0])
        return NestedMap(
            log_probs=log_probs, atten_probs=tf.zeros([tf.shape(step_ids)[0], 1])
        ), states

    def Post(theta, encoder_outputs, new_step_ids, states):
        return NestedMap(steps=states.steps + 1)

    return Init, Pre, Post


def NumpyGreedy(max_steps, eos=2, sos=1):
    ids, score, prev = [], 0.0, sos
    for _ in range(max_steps):
        w = int(np.argmax(TABLE[prev]))
        ids.append(w)
        score += TABLE[prev, w]
        prev = w
        if w == eos:
            break
    return ids, score


@pytest.mark.parametrize("graph", [False, True])
def test_greedy_follows_the_argmax_path(graph):
    helper = greedy_search_helper.GreedySearchHelper.Params().Set(name="g", target_seq_len=8)
    helper = helper.Instantiate()

    def Run():
        return helper.GreedySearchDecode(NestedMap(), NestedMap(), *Callbacks(2))

    out = tf.function(Run)() if graph else Run()
    want_ids, want_score = NumpyGreedy(8)
    for row in range(2):
        n = int(out.hyp_lens[row])
        assert n == len(want_ids)
        np.testing.assert_array_equal(out.hyp_ids[row, :n], want_ids)
        assert not out.hyp_ids[row, n:].numpy().any()
        np.testing.assert_allclose(out.hyp_scores[row], want_score, rtol=1e-5)
    assert out.hyp_ids.shape == (2, 8)


def MakeSampler(**kwargs):
    p = greedy_search_helper.SampleSearchHelper.Params().Set(name="s", target_seq_len=10)
    return p.Set(**kwargs).Instantiate()


def test_sampling_is_seeded_and_the_same_in_a_graph():
    sampler = MakeSampler(num_hyps_per_beam=4, temperature=1.5)

    def Run(seed):
        return sampler.SampleSearchDecode(
            NestedMap(), NestedMap(), *Callbacks(3), random_seed=seed
        ).hyp_ids

    a, b, c = Run(7), Run(7), Run(8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(tf.function(Run)(tf.constant(7)), a)
    assert a.shape == (12, 10)


def test_sampling_scores_are_the_log_probs_of_the_samples():
    out = MakeSampler(num_hyps_per_beam=2).SampleSearchDecode(
        NestedMap(), NestedMap(), *Callbacks(2)
    )
    for ids, n, score, done in zip(
        out.hyp_ids.numpy(), out.hyp_lens, out.hyp_scores, out.done, strict=False
    ):
        prev, total = 1, 0.0
        for w in ids[: int(n)]:
            total += TABLE[prev, w]
            prev = w
        np.testing.assert_allclose(score, total, rtol=1e-5)
        assert bool(done) == (ids[int(n) - 1] == 2)


def test_top_k_one_is_greedy_and_top_k_restricts():
    out = MakeSampler(num_hyps_per_beam=3, top_k=1).SampleSearchDecode(
        NestedMap(), NestedMap(), *Callbacks(1)
    )
    want, _ = NumpyGreedy(10)
    for row in out.hyp_ids.numpy():
        np.testing.assert_array_equal(row[: len(want)], want)
    out = MakeSampler(num_hyps_per_beam=50, top_k=2, temperature=3.0).SampleSearchDecode(
        NestedMap(), NestedMap(), *Callbacks(1), max_steps=1
    )
    allowed = set(np.argsort(-TABLE[1])[:2])
    assert set(out.hyp_ids.numpy()[:, 0]) == allowed


def test_bad_temperature():
    with pytest.raises(ValueError, match="temperature"):
        MakeSampler(temperature=0.0)
