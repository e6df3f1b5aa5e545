"""Accuracy, top-k accuracy, perplexity and merging of metrics across batches and workers."""

import math
import pickle

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import metrics


def Split(n, parts, rng):
    """Random contiguous batch boundaries covering range(n)."""
    cuts = np.sort(rng.choice(np.arange(1, n), size=parts - 1, replace=False))
    return np.split(np.arange(n), cuts)


def MergedOverWorkers(batches, make, update, workers=3):
    """Each of `workers` accumulates every workers-th batch; the partials are combined."""
    partial = [make() for _ in range(workers)]
    for i, b in enumerate(batches):
        update(partial[i % workers], b)
    # A worker's metric travels to the chief by pickling; the sums survive exactly.
    partial = [pickle.loads(pickle.dumps(m)) for m in partial]
    return metrics.Combine(partial)


def test_accuracy_and_top_k_merge_to_direct_computation():
    rng = np.random.default_rng(0)
    n, c = 301, 7
    logits = rng.normal(size=[n, c]).astype(np.float32)
    labels = rng.integers(0, c, size=[n])
    weights = rng.integers(0, 3, size=[n]).astype(np.float32)  # 0 = padding
    ranks = (logits > logits[np.arange(n), labels][:, None]).sum(1)
    for k in (1, 3):
        direct = ((ranks < k) * weights).sum() / weights.sum()

        def Update(m, idx, k=k):
            if k == 1:
                m.Update(*metrics.Accuracy(logits[idx], labels[idx], weights[idx]))
            else:
                m.Update(*metrics.TopKAccuracy(logits[idx], labels[idx], k, weights[idx]))

        merged = MergedOverWorkers(Split(n, 9, rng), metrics.AverageMetric, Update)
        assert merged.value == pytest.approx(direct, rel=1e-6)
        assert merged.total_weight == weights.sum()
    # Averaging the per-batch accuracies (unweighted) would be wrong: make sure it differs.
    batches = Split(n, 9, rng)
    naive = np.mean([float(metrics.Accuracy(logits[b], labels[b], weights[b])[0]) for b in batches])
    assert naive != pytest.approx(((ranks < 1) * weights).sum() / weights.sum(), rel=1e-6)


def test_accuracy_shapes_ties_and_tf_function():
    logits = tf.constant([[[1.0, 3.0, 3.0], [5.0, 0.0, 0.0]]])  # [1, 2, 3]
    labels = tf.constant([[2, 0]])
    acc, w = tf.function(metrics.Accuracy)(logits, labels)
    assert (float(acc), float(w)) == (0.5, 2.0)  # argmax of a tie is the first class
    acc1, _ = metrics.TopKAccuracy(logits, labels, 1)
    assert float(acc1) == 1.0  # a label tied with the best score is in the top 1
    acc, w = metrics.Accuracy(logits, labels, weights=tf.zeros([1, 2]))
    assert (float(acc), float(w)) == (0.0, 0.0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        metrics.TopKAccuracy(logits, labels, 0)


def test_perplexity_is_exp_of_token_weighted_log_perplexity():
    rng = np.random.default_rng(1)
    token_logp = -rng.exponential(2.0, size=500)  # per-token log-probs of a whole eval set
    batches = Split(500, 7, rng)

    def Update(m, idx):
        m.Update(-token_logp[idx].mean(), len(idx))  # what an LM's ComputeLoss reports

    merged = MergedOverWorkers(batches, metrics.PerplexityMetric, Update)
    assert merged.value == pytest.approx(math.exp(-token_logp.mean()), rel=1e-12)
    assert merged.log_perplexity == pytest.approx(-token_logp.mean(), rel=1e-12)
    assert set(merged.Summaries("pplx")) == {"pplx", "pplx/log_pplx"}
    assert metrics.PerplexityMetric().value == 1.0


def test_f1_mcc_corpus_bleu_and_unique_average_merge():
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 10, size=[12, 4])
    whole, parts = metrics.MCCMetric(), [metrics.MCCMetric() for _ in range(3)]
    for i, row in enumerate(counts):
        whole.Update(*row)
        parts[i % 3].Update(*row)
    merged = metrics.Combine(parts)
    assert (merged.value, merged.precision, merged.recall) == pytest.approx(
        (whole.value, whole.precision, whole.recall)
    )
    assert parts[0].true_pos == counts[0::3, 0].sum()  # Combine leaves its inputs alone

    pairs = [("a b c d", "a b c"), ("the cat sat", "the cat sat down"), ("x y", "y x")]
    whole, a, b = (metrics.CorpusBleuMetric() for _ in range(3))
    for i, (r, h) in enumerate(pairs):
        whole.Update(r, h)
        (a if i % 2 else b).Update(r, h)
    assert a.Merge(b).value == pytest.approx(whole.value, rel=1e-12)

    u1, u2 = metrics.UniqueAverageMetric(), metrics.UniqueAverageMetric()
    u1.Update("ex1", 1.0)
    u1.Update("ex2", 3.0)
    u2.Update("ex2", 3.0)  # both workers saw ex2 (a repeating input): it counts once
    u2.Update("ex3", 5.0)
    u1.Merge(u2)
    assert (u1.value, u1.total_count) == (3.0, 3)


def test_merge_rejects_other_types_and_configurations():
    with pytest.raises(TypeError, match="expected a AverageMetric, got F1Metric"):
        metrics.AverageMetric().Merge(metrics.F1Metric())
    with pytest.raises(TypeError, match="PerplexityMetric"):
        metrics.AverageMetric().Merge(metrics.PerplexityMetric())
    with pytest.raises(ValueError, match="max_order"):
        metrics.CorpusBleuMetric(max_order=4).Merge(metrics.CorpusBleuMetric(max_order=2))
    with pytest.raises(ValueError, match="at least one"):
        metrics.Combine([])
