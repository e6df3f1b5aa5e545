"""Lingvo's metric objects: running averages, counts and corpus scores aggregated in Python."""

from __future__ import annotations

import collections
import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from absl import logging

__all__ = [
    "Accuracy",
    "AverageMetric",
    "BaseMetric",
    "Combine",
    "CorpusBleuMetric",
    "CreateScalarSummary",
    "F1Metric",
    "MCCMetric",
    "PerplexityMetric",
    "TopKAccuracy",
    "UniqueAverageMetric",
    "UpdateMetrics",
]


def CreateScalarSummary(name: str, value: Any) -> Any:
    """Returns a `Summary` protocol buffer holding one scalar value.

    Args:
      name: The summary tag, e.g. `corpus_bleu`.
      value: A number (converted to float).

    Returns:
      A `tf.compat.v1.Summary` proto with one `simple_value`; the proto type only, no TF1
      graph machinery is involved.
    """
    import tensorflow as tf  # Imported here: the metric objects themselves need no TF.

    return tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=name, simple_value=value)])


def _Float(x: Any) -> float:
    """Converts a Python number, numpy scalar or eager scalar tensor to float."""
    numpy = getattr(x, "numpy", None)
    if callable(numpy):
        x = numpy()
    return float(x)


class BaseMetric:
    """A metric accumulated in Python over many batches; `value` is its current result."""

    def Update(self, *args: Any, **kwargs: Any) -> None:
        """Adds one observation (arguments depend on the metric)."""
        raise NotImplementedError(f"{type(self).__name__}.Update")

    @property
    def value(self) -> float:
        """The metric's current value."""
        raise NotImplementedError(f"{type(self).__name__}.value")

    def Summary(self, name: str) -> Any:
        """Returns a `Summary` proto holding `value` under tag `name`; does not reset."""
        return CreateScalarSummary(name, self.value)

    def Summaries(self, name: str) -> dict[str, float]:
        """Returns `{tag: value}` of every scalar this metric writes under `name`."""
        return {name: self.value}

    def Merge(self, other: BaseMetric) -> BaseMetric:
        """Adds `other`'s accumulated sums into this metric (other batches, other workers).

        Metrics keep sums of numerators and denominators, never averages, so merging the
        partial metrics of any split of a dataset gives the metric of the whole dataset.

        Args:
          other: A metric of exactly this type and configuration; it is not modified.

        Returns:
          self, so merges chain.

        Raises:
          TypeError: If `other` is of another type.
          ValueError: If `other` was configured differently.
        """
        self._CheckMergeable(other)
        self._MergeSums(other)
        return self

    def _CheckMergeable(self, other: BaseMetric) -> None:
        if type(other) is not type(self):
            raise TypeError(
                f"{type(self).__name__}.Merge: expected a {type(self).__name__}, "
                f"got {type(other).__name__}"
            )
        mine, theirs = self._MergeConfig(), other._MergeConfig()
        if mine != theirs:
            raise ValueError(
                f"{type(self).__name__}.Merge: configurations differ: {mine} vs {theirs}"
            )

    def _MergeConfig(self) -> dict[str, Any]:
        """The settings two metrics must share to be merged."""
        return {}

    def _MergeSums(self, other: BaseMetric) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot be merged")


def Combine(metrics: Sequence[BaseMetric]) -> BaseMetric:
    """Returns a new metric holding the merged sums of `metrics` (e.g. one per worker).

    Args:
      metrics: One or more metrics of the same type and configuration; left unchanged.

    Raises:
      ValueError: If `metrics` is empty or configurations differ.
      TypeError: If the types differ.
    """
    if not metrics:
        raise ValueError("Combine: expected at least one metric, got none")
    merged = copy.deepcopy(metrics[0])
    for m in metrics[1:]:
        merged.Merge(m)
    return merged


class AverageMetric(BaseMetric):
    """The weighted average of the values it was updated with: sum(v * w) / sum(w).

    The value is 0.0 while the total weight is 0. `total_value` and `total_weight` can be set,
    e.g. to restore a metric or to merge partial sums computed elsewhere.
    """

    def __init__(self) -> None:
        self.total_value = 0.0
        self.total_weight = 0.0

    def Update(self, value: Any, weight: Any = 1.0) -> None:
        """Adds `value` with weight `weight`.

        Args:
          value: A scalar: number, numpy scalar or eager tensor.
          weight: A non-negative scalar.

        Raises:
          ValueError: If `weight` is negative.
        """
        value, weight = _Float(value), _Float(weight)
        if weight < 0.0:
            raise ValueError(f"AverageMetric.Update: weight must be >= 0, got {weight}")
        self.total_value += value * weight
        self.total_weight += weight

    @property
    def value(self) -> float:
        """`total_value / total_weight`, or 0.0 when nothing has weight."""
        return self.total_value / self.total_weight if self.total_weight > 0 else 0.0

    def _MergeSums(self, other: BaseMetric) -> None:
        assert isinstance(other, AverageMetric)
        self.total_value += other.total_value
        self.total_weight += other.total_weight


class PerplexityMetric(AverageMetric):
    """Perplexity exp(Σ log_pplx·w / Σ w) from per-batch log-perplexities and token counts.

    Averaging the log-perplexity weighted by tokens, then exponentiating, gives the
    perplexity of the whole set; averaging per-batch perplexities would not.
    `Update(log_pplx, num_tokens)`; `value` is 1.0 while nothing has weight.
    """

    @property
    def log_perplexity(self) -> float:
        """The token-weighted mean log-perplexity (nats per token)."""
        return super().value

    @property
    def value(self) -> float:
        """exp(`log_perplexity`)."""
        return math.exp(self.log_perplexity)

    def Summaries(self, name: str) -> dict[str, float]:
        """The perplexity under `name` and the log-perplexity under `name/log_pplx`."""
        return {name: self.value, f"{name}/log_pplx": self.log_perplexity}


class UniqueAverageMetric(AverageMetric):
    """An `AverageMetric` that counts each key once: the first value seen for a key wins.

    Evaluation over a repeating input can see an example twice; keying updates by example id
    makes the average exact. A later update with the same key and a different value is a
    mismatch: an error when `value` is read (`mismatch_is_error=True`) or a logged warning.
    """

    def __init__(self, mismatch_is_error: bool = True) -> None:
        """Creates an empty metric.

        Args:
          mismatch_is_error: Whether conflicting values for one key raise (True) or warn.
        """
        super().__init__()
        self._mismatch_is_error = mismatch_is_error
        self._values: dict[Any, tuple[float, float]] = {}
        self._mismatches: list[str] = []

    def Update(self, key: Any, value: Any, weight: Any = 1.0) -> None:  # type: ignore[override]
        """Adds `value` with `weight` under `key`, unless `key` was seen already.

        Raises:
          ValueError: If `weight` is negative.
        """
        value, weight = _Float(value), _Float(weight)
        if key in self._values:
            if self._values[key] != (value, weight):
                self._mismatches.append(
                    f"key {key!r}: first ({self._values[key][0]}, {self._values[key][1]}), "
                    f"then ({value}, {weight})"
                )
            return
        super().Update(value, weight)
        self._values[key] = (value, weight)

    @property
    def total_count(self) -> int:
        """The number of distinct keys."""
        return len(self._values)

    @property
    def value(self) -> float:
        """The average over distinct keys.

        Raises:
          ValueError: If a key was updated with conflicting values and mismatches are errors.
        """
        if self._mismatches:
            msg = "UniqueAverageMetric saw conflicting values: " + "; ".join(self._mismatches[:5])
            if self._mismatch_is_error:
                raise ValueError(msg)
            logging.warning("%s", msg)
        return super().value

    def _MergeConfig(self) -> dict[str, Any]:
        return {"mismatch_is_error": self._mismatch_is_error}

    def _MergeSums(self, other: BaseMetric) -> None:
        # Keys are re-added one by one so a key both sides saw counts once.
        assert isinstance(other, UniqueAverageMetric)
        for key, (v, w) in other._values.items():
            self.Update(key, v, w)
        self._mismatches.extend(other._mismatches)

    def Summaries(self, name: str) -> dict[str, float]:
        """The average plus `/total_count`, `/total_value` and `/total_weight`."""
        return {
            name: self.value,
            f"{name}/total_count": float(self.total_count),
            f"{name}/total_value": self.total_value,
            f"{name}/total_weight": self.total_weight,
        }

    def Summary(self, name: str) -> Any:
        """Returns a `Summary` proto with every scalar of `Summaries(name)`."""
        proto = CreateScalarSummary(name, self.value)
        for tag, v in self.Summaries(name).items():
            if tag != name:
                proto.value.add(tag=tag, simple_value=v)
        return proto


class F1Metric(BaseMetric):
    """The F1 score 2PR / (P + R) from counts of true positives, false positives and negatives.

    Precision (recall) is 0 when its denominator is 0, and F1 is 0 when both are 0.
    """

    def __init__(self) -> None:
        self.true_pos = 0.0
        self.false_pos = 0.0
        self.false_neg = 0.0

    def UpdateTruePositive(self, count: Any = 1.0) -> None:
        """Adds `count` true positives."""
        self.true_pos += _Float(count)

    def UpdateFalsePositive(self, count: Any = 1.0) -> None:
        """Adds `count` false positives."""
        self.false_pos += _Float(count)

    def UpdateFalseNegative(self, count: Any = 1.0) -> None:
        """Adds `count` false negatives."""
        self.false_neg += _Float(count)

    def Update(self, true_pos: Any = 0.0, false_pos: Any = 0.0, false_neg: Any = 0.0) -> None:
        """Adds the three counts at once."""
        self.UpdateTruePositive(true_pos)
        self.UpdateFalsePositive(false_pos)
        self.UpdateFalseNegative(false_neg)

    @property
    def precision(self) -> float:
        """TP / (TP + FP), or 0.0."""
        d = self.true_pos + self.false_pos
        return self.true_pos / d if d > 0 else 0.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN), or 0.0."""
        d = self.true_pos + self.false_neg
        return self.true_pos / d if d > 0 else 0.0

    @property
    def value(self) -> float:
        """2PR / (P + R), or 0.0."""
        p, r = self.precision, self.recall
        return 2.0 * p * r / (p + r) if p + r > 0 else 0.0

    def _MergeSums(self, other: BaseMetric) -> None:
        assert isinstance(other, F1Metric)
        self.true_pos += other.true_pos
        self.false_pos += other.false_pos
        self.false_neg += other.false_neg


class MCCMetric(F1Metric):
    """Matthews correlation coefficient from the four confusion counts (0.0 if undefined)."""

    def __init__(self) -> None:
        super().__init__()
        self.true_neg = 0.0

    def UpdateTrueNegative(self, count: Any = 1.0) -> None:
        """Adds `count` true negatives."""
        self.true_neg += _Float(count)

    def Update(  # type: ignore[override]
        self,
        true_pos: Any = 0.0,
        false_pos: Any = 0.0,
        false_neg: Any = 0.0,
        true_neg: Any = 0.0,
    ) -> None:
        """Adds the four counts at once."""
        super().Update(true_pos, false_pos, false_neg)
        self.UpdateTrueNegative(true_neg)

    @property
    def value(self) -> float:
        """(TP·TN - FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)), or 0.0."""
        tp, fp, fn, tn = self.true_pos, self.false_pos, self.false_neg, self.true_neg
        d = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
        return (tp * tn - fp * fn) / math.sqrt(d) if d > 0 else 0.0

    def _MergeSums(self, other: BaseMetric) -> None:
        assert isinstance(other, MCCMetric)
        super()._MergeSums(other)
        self.true_neg += other.true_neg


def _Unsegment(text: str, separator_type: str | None) -> str:
    """Joins word pieces back into words before BLEU tokenizes by whitespace."""
    if separator_type in ("wpm", "spm"):
        return "".join(text.split(" ")).replace("\u2581", " ").strip()
    if separator_type == "bpe":
        return text.replace("@@ ", "").replace("@@", "").strip()
    if separator_type in (None, "", "none"):
        return text
    raise ValueError(f"CorpusBleuMetric: unknown separator_type {separator_type!r}")


def _NGramCounts(tokens: Sequence[str], n: int) -> collections.Counter:
    return collections.Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


class CorpusBleuMetric(BaseMetric):
    """Corpus BLEU over whitespace tokens, as a fraction in [0, 1] (Lingvo's scorer).

    Clipped n-gram matches and hypothesis n-gram counts are summed over the corpus for
    n = 1..`max_order`. As in Lingvo, the geometric mean runs only over the orders that have
    at least one match (so it is not the textbook BLEU, which is 0 when any order has no
    match), and the score is 0 when no order matches. A brevity penalty
    exp(1 - ref_len / hyp_len) applies when the hypotheses are shorter.
    """

    def __init__(self, max_order: int = 4, separator_type: str | None = None) -> None:
        """Creates an empty corpus.

        Args:
          max_order: The longest n-gram counted.
          separator_type: How tokens were segmented before scoring: None (plain words),
            'wpm' or 'spm' (pieces with ▁ word starts), or 'bpe' (`@@ ` continuations).
        """
        self._max_order = max_order
        self._separator_type = separator_type
        _Unsegment("", separator_type)  # fails early on an unknown type
        self.matches = [0] * max_order
        self.totals = [0] * max_order
        self.ref_length = 0
        self.hyp_length = 0

    def Update(self, ref_str: str, hyp_str: str) -> None:
        """Adds one (reference, hypothesis) pair of strings."""
        ref = _Unsegment(ref_str, self._separator_type).split()
        hyp = _Unsegment(hyp_str, self._separator_type).split()
        self.ref_length += len(ref)
        self.hyp_length += len(hyp)
        for n in range(1, self._max_order + 1):
            hyp_counts = _NGramCounts(hyp, n)
            ref_counts = _NGramCounts(ref, n)
            self.matches[n - 1] += sum(min(c, ref_counts[g]) for g, c in hyp_counts.items())
            self.totals[n - 1] += sum(hyp_counts.values())

    def _MergeConfig(self) -> dict[str, Any]:
        return {"max_order": self._max_order, "separator_type": self._separator_type}

    def _MergeSums(self, other: BaseMetric) -> None:
        assert isinstance(other, CorpusBleuMetric)
        self.matches = [a + b for a, b in zip(self.matches, other.matches, strict=True)]
        self.totals = [a + b for a, b in zip(self.totals, other.totals, strict=True)]
        self.ref_length += other.ref_length
        self.hyp_length += other.hyp_length

    @property
    def unsegmenter(self) -> str | None:
        """The separator type given at construction."""
        return self._separator_type

    @property
    def value(self) -> float:
        """The corpus BLEU in [0, 1]."""
        logs = [
            math.log(m / t)
            for m, t in zip(self.matches, self.totals, strict=True)
            if m > 0 and t > 0
        ]
        if not logs:
            return 0.0
        bleu = math.exp(sum(logs) / len(logs))
        if 0 < self.hyp_length < self.ref_length:
            bleu *= math.exp(1.0 - self.ref_length / self.hyp_length)
        return bleu


def Accuracy(logits: Any, labels: Any, weights: Any = None) -> tuple[Any, Any]:
    """The weighted fraction of positions whose arg-max class is the label.

    Returns a `(value, weight)` pair, the form `ComputeLoss` reports metrics in: an
    `AverageMetric` updated with these pairs holds Σ correct·w and Σ w, so batches and
    workers merge exactly. Works eagerly and inside `tf.function`.

    Args:
      logits: Scores shaped [..., num_classes] (logits, log-probs or probs).
      labels: Integer class ids shaped [...].
      weights: Optional non-negative weights shaped [...] (0 = ignore, e.g. padding);
        default 1 everywhere.

    Returns:
      `(accuracy, total_weight)`, float32 scalar tensors; accuracy is 0 when the total
      weight is 0. Ties go to the lowest class id (`tf.argmax`).
    """
    import tensorflow as tf

    logits = tf.convert_to_tensor(logits)
    labels = tf.cast(labels, tf.int64)
    correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1), labels), tf.float32)
    return _WeightedMean(correct, weights)


def TopKAccuracy(logits: Any, labels: Any, k: int, weights: Any = None) -> tuple[Any, Any]:
    """The weighted fraction of positions whose label is among the `k` highest scores.

    Same arguments and return value as `Accuracy`, plus `k` (>= 1). As in
    `tf.math.in_top_k`, a label tied with the k-th score counts as within the top k.

    Raises:
      ValueError: If `k` < 1.
    """
    import tensorflow as tf

    if k < 1:
        raise ValueError(f"TopKAccuracy: k must be >= 1, got {k}")
    logits = tf.convert_to_tensor(logits, tf.float32)
    labels = tf.cast(labels, tf.int32)
    label_scores = tf.gather(logits, labels[..., None], batch_dims=len(labels.shape))
    # The label is in the top k exactly when fewer than k classes score strictly higher.
    higher = tf.reduce_sum(tf.cast(logits > label_scores, tf.int32), axis=-1)
    return _WeightedMean(tf.cast(higher < k, tf.float32), weights)


def _WeightedMean(correct: Any, weights: Any) -> tuple[Any, Any]:
    import tensorflow as tf

    w = tf.ones_like(correct) if weights is None else tf.cast(weights, tf.float32)
    total = tf.reduce_sum(w)
    return tf.math.divide_no_nan(tf.reduce_sum(correct * w), total), total


def UpdateMetrics(
    metrics: Mapping[str, AverageMetric], values: Mapping[str, tuple[Any, Any]]
) -> None:
    """Adds a batch's `{name: (value, weight)}` to `{name: AverageMetric}`, creating missing ones.

    This is how an evaler aggregates `FPropTower` metrics over batches: each metric's final
    value is the weight-averaged mean over batches.

    Args:
      metrics: A mutable mapping name -> `AverageMetric`, updated in place.
      values: The batch's metrics; each value is a `(value, weight)` pair of scalars.

    Raises:
      ValueError: If a value is not a `(value, weight)` pair.
    """
    for name, pair in values.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"metric {name!r} must be a (value, weight) pair, got {pair!r}")
        if name not in metrics:
            metrics[name] = AverageMetric()  # type: ignore[index]
        metrics[name].Update(*pair)
