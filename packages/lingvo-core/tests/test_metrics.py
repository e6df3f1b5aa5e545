"""Tests of the metric objects (`lingvo.core.metrics`)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import metrics


def test_average_metric():
    m = metrics.AverageMetric()
    assert m.value == 0.0
    m.Update(1.0)
    m.Update(tf.constant(2.0), np.float32(10.0))
    assert m.value == pytest.approx(21.0 / 11.0)
    summary = m.Summary("foo")
    assert summary.value[0].tag == "foo"
    assert summary.value[0].simple_value == pytest.approx(21.0 / 11.0)
    assert m.value == pytest.approx(21.0 / 11.0)  # Summary does not reset
    m.total_value, m.total_weight = 3.0, 2.0
    assert m.value == 1.5
    with pytest.raises(ValueError, match="weight must be >= 0"):
        m.Update(1.0, -1.0)


def test_unique_average_metric():
    m = metrics.UniqueAverageMetric()
    m.Update("a", 1.0, 1.0)
    m.Update("b", 2.0, 10.0)
    m.Update("a", 1.0, 1.0)  # a repeat with the same value is ignored
    assert m.value == pytest.approx(21.0 / 11.0)
    assert m.Summaries("x") == {
        "x": pytest.approx(21.0 / 11.0),
        "x/total_count": 2.0,
        "x/total_value": 21.0,
        "x/total_weight": 11.0,
    }
    assert len(m.Summary("x").value) == 4
    m.Update("a", 5.0, 1.0)
    with pytest.raises(ValueError, match="conflicting"):
        _ = m.value
    lenient = metrics.UniqueAverageMetric(mismatch_is_error=False)
    lenient.Update("a", 1.0)
    lenient.Update("a", 3.0)
    assert lenient.value == 1.0


def test_f1_and_mcc():
    f1 = metrics.F1Metric()
    assert f1.value == 0.0
    f1.UpdateTruePositive(2)
    f1.UpdateFalsePositive()
    f1.UpdateFalseNegative()
    assert f1.precision == pytest.approx(2 / 3)
    assert f1.recall == pytest.approx(2 / 3)
    assert f1.value == pytest.approx(2 / 3)
    mcc = metrics.MCCMetric()
    mcc.Update(true_pos=2, false_pos=1, false_neg=1, true_neg=2)
    assert mcc.value == pytest.approx(1 / 3)
    assert metrics.MCCMetric().value == 0.0


def _Bleu(pairs, **kwargs):
    m = metrics.CorpusBleuMetric(**kwargs)
    for ref, hyp in pairs:
        m.Update(ref, hyp)
    return m.value


def test_corpus_bleu_goldens():
    assert _Bleu([("a b c d", "a b c d")]) == pytest.approx(1.0)
    assert _Bleu([("a b c d", "a b c d"), ("almost right", "almost write")]) == pytest.approx(
        (5 / 6 * 3 / 4 * 2 / 2 * 1 / 1) ** 0.25
    )
    assert _Bleu([("a b c d", "a a b c d")]) == pytest.approx(
        (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25
    )
    assert _Bleu([("1 2 3 4 5", "1 2 3 4 -2")]) == pytest.approx(0.6687403, abs=1e-6)
    assert _Bleu([("1 2 3 4 5", "1 2 3 4")]) == pytest.approx(0.7788008, abs=1e-6)
    ref = "It is obvious that this will have a certain influence ."
    hyp = "It is clear that this will have a certain influence ."
    assert _Bleu([(ref, hyp)]) == pytest.approx(0.74194467, abs=1e-6)
    assert _Bleu([("", "")]) == 0.0
    assert _Bleu([("", ""), ("a", "a")]) == pytest.approx(1.0)


def test_corpus_bleu_unsegmenters():
    # Both sides are unsegmented: "\u2581a b \u2581c" and "\u2581ab \u2581c" are both "ab c".
    pair = ("\u2581a b \u2581c", "\u2581ab \u2581c")
    assert _Bleu([pair], separator_type="wpm") == pytest.approx(1.0)
    assert _Bleu([pair]) < 0.5  # scored piece by piece without the unsegmenter
    assert _Bleu([("ab c", "a@@ b c")], separator_type="bpe") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="separator_type"):
        metrics.CorpusBleuMetric(separator_type="morse")


def test_update_metrics_aggregates_batches():
    agg = {}
    metrics.UpdateMetrics(agg, {"loss": (tf.constant(2.0), 4.0), "acc": (0.5, 4.0)})
    metrics.UpdateMetrics(agg, {"loss": (1.0, 2.0)})
    assert agg["loss"].value == pytest.approx((8.0 + 2.0) / 6.0)
    assert agg["acc"].value == 0.5
    with pytest.raises(ValueError, match="pair"):
        metrics.UpdateMetrics(agg, {"loss": 1.0})
    assert math.isfinite(agg["loss"].value)
