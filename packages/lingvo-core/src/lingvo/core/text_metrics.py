"""Text metrics: WER and CER on the ops edit-distance kernel, and sacreBLEU-compatible BLEU."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from lingvo.core import metrics

__all__ = [
    "CerMetric",
    "ComputeWer",
    "ErrorRateMetric",
    "FilterEpsilon",
    "FilterNoise",
    "NormalizeAsrText",
    "SacreBleuMetric",
    "WerMetric",
]

_EPSILON = re.compile(r"<epsilon>")


def FilterNoise(text: str, noise: str = "<noise>") -> str:
    """Drops the whitespace-separated `noise` tokens (Lingvo's ASR `FilterNoise`).

    `'<noise> noise tokens are <noise> removed <noise>'` -> `'noise tokens are removed'`.
    """
    return " ".join(w for w in text.split() if w != noise)


def FilterEpsilon(text: str) -> str:
    """Replaces every `<epsilon>` with a space, then collapses whitespace (Lingvo's ASR).

    `'<epsilon>epsilon tokens are<epsilon>removed<epsilon>'` -> `'epsilon tokens are removed'`.
    """
    return " ".join(_EPSILON.sub(" ", text).split())


def _RemovePunctuation(text: str) -> str:
    # Unicode punctuation (categories P*) goes, except the hyphen and the apostrophe, which
    # are part of words such as "well-known" and "don't".
    return "".join(c for c in text if c in "-'" or not unicodedata.category(c).startswith("P"))


def NormalizeAsrText(
    text: str | bytes, lowercase: bool = False, remove_punctuation: bool = False
) -> str:
    """Lingvo's `ComputeWer` normalisation: strip and collapse whitespace, optionally more.

    Args:
      text: A transcript; bytes are decoded as UTF-8.
      lowercase: Whether to lowercase (then case differences are not errors).
      remove_punctuation: Whether to drop Unicode punctuation except `-` and `'`.

    Returns:
      The normalised transcript, words separated by single spaces.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if lowercase:
        text = text.lower()
    if remove_punctuation:
        text = _RemovePunctuation(text)
    return " ".join(text.split())


def _AsList(x: Any) -> list[str | bytes]:
    if isinstance(x, (str, bytes)):
        return [x]
    if isinstance(x, np.ndarray):
        return list(x.reshape([-1]))
    return list(x)


def _Pairs(refs: Any, hyps: Any, caller: str) -> tuple[list[Any], list[Any]]:
    refs, hyps = _AsList(refs), _AsList(hyps)
    if len(refs) != len(hyps):
        raise ValueError(
            f"{caller}: expected as many hypotheses as references, got {len(hyps)} "
            f"hypotheses for {len(refs)} references"
        )
    return refs, hyps


def ComputeWer(
    hyps: Sequence[str | bytes],
    refs: Sequence[str | bytes],
    lowercase: bool = False,
    remove_punctuation: bool = False,
) -> np.ndarray:
    """Word errors and reference words per pair, as Lingvo's `decoder_utils.ComputeWer`.

    Both sides are normalised by `NormalizeAsrText`; errors are the word-level edit
    distance (on the `lingvo.ops.edit_distance` kernel), reference words the number of
    words (0 for an empty reference).

    Args:
      hyps: Hypotheses, one string per example.
      refs: References, as many as `hyps`.
      lowercase: Passed to `NormalizeAsrText`.
      remove_punctuation: Passed to `NormalizeAsrText`.

    Returns:
      int64 [batch, 2]: (errors, ref_words) per pair.

    Raises:
      ValueError: If the batch sizes differ.
    """
    from lingvo import ops

    refs, hyps = _Pairs(refs, hyps, "ComputeWer")
    counts = ops.edit_distance(
        [NormalizeAsrText(h, lowercase, remove_punctuation) for h in hyps],
        [NormalizeAsrText(r, lowercase, remove_punctuation) for r in refs],
        level="word",
    )
    return np.stack([counts.errors, counts.ref_lengths], axis=1).astype(np.int64)


class ErrorRateMetric(metrics.BaseMetric):
    """Corpus error rate Σ errors / Σ reference tokens (WER on words, CER on characters).

    Holds the summed substitutions, insertions, deletions and reference tokens, so the
    metrics of any split of a corpus (batches, workers) `Merge` into the metric of the whole
    corpus. Text is prepared as Lingvo's ASR decoder does: `<noise>` tokens dropped from
    both sides, `<epsilon>` from hypotheses, then `NormalizeAsrText`.
    """

    def __init__(
        self,
        level: str = "word",
        lowercase: bool = False,
        remove_punctuation: bool = False,
        filter_noise: bool = True,
        filter_epsilon: bool = True,
    ) -> None:
        """Creates an empty metric.

        Args:
          level: 'word' (WER) or 'char' (CER: Unicode code points, spaces included).
          lowercase: Whether case differences are ignored.
          remove_punctuation: Whether punctuation other than `-` and `'` is ignored.
          filter_noise: Whether `<noise>` tokens are dropped from references and hypotheses.
          filter_epsilon: Whether `<epsilon>` is dropped from hypotheses.

        Raises:
          ValueError: If `level` is neither 'word' nor 'char'.
        """
        if level not in ("word", "char"):
            raise ValueError(
                f"{type(self).__name__}: level must be 'word' or 'char', got {level!r}"
            )
        self._config = dict(
            level=level,
            lowercase=lowercase,
            remove_punctuation=remove_punctuation,
            filter_noise=filter_noise,
            filter_epsilon=filter_epsilon,
        )
        self.substitutions = 0
        self.insertions = 0
        self.deletions = 0
        self.ref_length = 0
        self.num_sentences = 0
        self.num_correct_sentences = 0

    def Normalize(self, text: str | bytes, is_hyp: bool) -> str:
        """Prepares one reference (`is_hyp=False`) or hypothesis for scoring."""
        c = self._config
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if c["filter_epsilon"] and is_hyp:
            text = FilterEpsilon(text)
        if c["filter_noise"]:
            text = FilterNoise(text)
        return NormalizeAsrText(text, c["lowercase"], c["remove_punctuation"])

    def Update(self, refs: Any, hyps: Any) -> None:
        """Adds a batch of (reference, hypothesis) pairs, or one pair of strings.

        Raises:
          ValueError: If the numbers of references and hypotheses differ.
        """
        from lingvo import ops

        refs, hyps = _Pairs(refs, hyps, f"{type(self).__name__}.Update")
        if not refs:
            return
        counts = ops.edit_distance(
            [self.Normalize(h, True) for h in hyps],
            [self.Normalize(r, False) for r in refs],
            level=self._config["level"],
        )
        self.substitutions += int(counts.substitutions.sum())
        self.insertions += int(counts.insertions.sum())
        self.deletions += int(counts.deletions.sum())
        self.ref_length += int(counts.ref_lengths.sum())
        self.num_sentences += len(refs)
        self.num_correct_sentences += int((counts.errors == 0).sum())

    @property
    def errors(self) -> int:
        """Substitutions + insertions + deletions over everything seen."""
        return self.substitutions + self.insertions + self.deletions

    @property
    def value(self) -> float:
        """errors / reference tokens; 0.0 before any reference token."""
        return self.errors / self.ref_length if self.ref_length else 0.0

    @property
    def sentence_accuracy(self) -> float:
        """The fraction of pairs scored without error (Lingvo's `sacc`)."""
        return self.num_correct_sentences / self.num_sentences if self.num_sentences else 0.0

    def Summaries(self, name: str) -> dict[str, float]:
        """The rate under `name`, plus `/ins`, `/sub`, `/del` rates and `/sacc`."""
        n = self.ref_length or 1
        return {
            name: self.value,
            f"{name}/ins": self.insertions / n,
            f"{name}/sub": self.substitutions / n,
            f"{name}/del": self.deletions / n,
            f"{name}/sacc": self.sentence_accuracy,
        }

    def _MergeConfig(self) -> dict[str, Any]:
        return dict(self._config)

    def _MergeSums(self, other: metrics.BaseMetric) -> None:
        assert isinstance(other, ErrorRateMetric)
        for field in (
            "substitutions",
            "insertions",
            "deletions",
            "ref_length",
            "num_sentences",
            "num_correct_sentences",
        ):
            setattr(self, field, getattr(self, field) + getattr(other, field))


class WerMetric(ErrorRateMetric):
    """Word error rate: `ErrorRateMetric` over whitespace-separated words."""

    def __init__(self, **kwargs: Any) -> None:
        """Takes `ErrorRateMetric`'s keyword arguments except `level`."""
        super().__init__(level="word", **kwargs)


class CerMetric(ErrorRateMetric):
    """Character error rate: `ErrorRateMetric` over Unicode code points (spaces included)."""

    def __init__(self, **kwargs: Any) -> None:
        """Takes `ErrorRateMetric`'s keyword arguments except `level`."""
        super().__init__(level="char", **kwargs)


def _ImportSacreBleu() -> Any:
    try:
        from sacrebleu.metrics import BLEU
    except ImportError as e:
        raise ImportError(
            "SacreBleuMetric needs the `sacrebleu` package, which is not installed; "
            "install it with `pip install 'lingvo-core[bleu]'` (or `pip install sacrebleu`)"
        ) from e
    return BLEU


class SacreBleuMetric(metrics.BaseMetric):
    """Corpus BLEU exactly as `sacrebleu` computes it, on a 0-100 scale (the number papers cite).

    Each update adds sacreBLEU's sufficient statistics (clipped n-gram matches and totals,
    hypothesis and reference lengths); `value` scores their sums, so batches and workers
    `Merge` into the BLEU of the whole corpus, equal to `sacrebleu.corpus_bleu` over it.
    Needs the optional `sacrebleu` package (`pip install 'lingvo-core[bleu]'`). Unlike
    `metrics.CorpusBleuMetric` (Lingvo's own scorer, a fraction in [0, 1]), sacreBLEU
    tokenizes the detokenized text itself and smooths zero n-gram counts.
    """

    def __init__(
        self,
        tokenize: str = "13a",
        lowercase: bool = False,
        smooth_method: str = "exp",
        smooth_value: float | None = None,
        max_order: int = 4,
        effective_order: bool = False,
        separator_type: str | None = None,
    ) -> None:
        """Creates an empty corpus.

        Args:
          tokenize: sacreBLEU's tokenizer name ('13a', 'intl', 'zh', 'char', 'none', ...).
          lowercase: Whether to score case-insensitively.
          smooth_method: 'exp', 'floor', 'add-k' or 'none', as in sacreBLEU.
          smooth_value: The value of 'floor' / 'add-k' smoothing (None: sacreBLEU's default).
          max_order: The longest n-gram counted.
          effective_order: Whether orders without any hypothesis n-gram are left out.
          separator_type: How the strings are segmented, joined back into words before
            scoring: None (plain text), 'wpm'/'spm' or 'bpe' (as `CorpusBleuMetric`).

        Raises:
          ImportError: If `sacrebleu` is not installed.
          ValueError: If `separator_type` or a sacreBLEU option is unknown.
        """
        bleu_cls = _ImportSacreBleu()
        metrics._Unsegment("", separator_type)  # fails early on an unknown type
        self._config = dict(
            tokenize=tokenize,
            lowercase=lowercase,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            max_order=max_order,
            effective_order=effective_order,
            separator_type=separator_type,
        )
        self._bleu = bleu_cls(
            lowercase=lowercase,
            tokenize=tokenize,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            max_ngram_order=max_order,
            effective_order=effective_order,
        )
        self.correct = [0] * max_order
        self.total = [0] * max_order
        self.sys_len = 0
        self.ref_len = 0
        self.num_sentences = 0

    def Update(self, refs: Any, hyps: Any) -> None:
        """Adds a batch of (reference, hypothesis) pairs, or one pair of strings.

        Raises:
          ValueError: If the numbers of references and hypotheses differ.
        """
        refs, hyps = _Pairs(refs, hyps, "SacreBleuMetric.Update")
        if not refs:
            return
        sep = self._config["separator_type"]

        def Prepare(x: str | bytes) -> str:
            return metrics._Unsegment(x.decode("utf-8") if isinstance(x, bytes) else x, sep)

        score = self._bleu.corpus_score([Prepare(h) for h in hyps], [[Prepare(r) for r in refs]])
        self.correct = [a + b for a, b in zip(self.correct, score.counts, strict=True)]
        self.total = [a + b for a, b in zip(self.total, score.totals, strict=True)]
        self.sys_len += score.sys_len
        self.ref_len += score.ref_len
        self.num_sentences += len(refs)

    def Score(self) -> Any:
        """sacreBLEU's `BLEUScore` of everything seen (its `str` is sacreBLEU's report)."""
        c = self._config
        return self._bleu.compute_bleu(
            self.correct,
            self.total,
            self.sys_len,
            self.ref_len,
            smooth_method=c["smooth_method"],
            smooth_value=c["smooth_value"],
            effective_order=c["effective_order"],
            max_ngram_order=c["max_order"],
        )

    @property
    def value(self) -> float:
        """Corpus BLEU on sacreBLEU's 0-100 scale; 0.0 before any sentence."""
        return float(self.Score().score) if self.num_sentences else 0.0

    @property
    def signature(self) -> str:
        """sacreBLEU's signature string (tokenizer, case, smoothing, version), for reports.

        Raises:
          ValueError: Before the first `Update` (sacreBLEU needs the number of references).
        """
        return str(self._bleu.get_signature())

    def _MergeConfig(self) -> dict[str, Any]:
        return dict(self._config)

    def _MergeSums(self, other: metrics.BaseMetric) -> None:
        assert isinstance(other, SacreBleuMetric)
        self.correct = [a + b for a, b in zip(self.correct, other.correct, strict=True)]
        self.total = [a + b for a, b in zip(self.total, other.total, strict=True)]
        self.sys_len += other.sys_len
        self.ref_len += other.ref_len
        self.num_sentences += other.num_sentences
