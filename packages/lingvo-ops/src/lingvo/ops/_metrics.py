"""Metric kernels: edit distance for WER/CER, and BestStep for early stopping."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from lingvo.ops import _ops

_LOG = logging.getLogger("lingvo.ops")


class EditCounts(NamedTuple):
    """Per-pair edit operations of ``edit_distance``; each int64 shaped [batch].

    ``errors`` (their sum) over ``ref_lengths`` is the pair's error rate; corpus WER is
    ``errors.sum() / ref_lengths.sum()``.
    """

    substitutions: np.ndarray
    insertions: np.ndarray
    deletions: np.ndarray
    ref_lengths: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        """The edit distance of each pair: substitutions + insertions + deletions."""
        return self.substitutions + self.insertions + self.deletions


def edit_distance(
    hyps: Sequence[str | bytes] | Sequence[npt.ArrayLike] | np.ndarray,
    refs: Sequence[str | bytes] | Sequence[npt.ArrayLike] | np.ndarray,
    level: str = "word",
) -> EditCounts:
    """Aligns each hypothesis with its reference and counts the edits (for WER and CER).

    Text is UTF-8 (``str`` is encoded, ``bytes`` is taken as UTF-8). With ``level="word"``
    tokens are the whitespace-separated words, split exactly like Python's ``str.split()``
    (Unicode whitespace included), so ``ref_lengths`` is ``len(ref.split())`` as in
    Lingvo's ``ComputeWer``. With ``level="char"`` tokens are Unicode code points, not
    bytes: ``"é"`` is one token, spaces count as tokens too. A byte of ``bytes`` input that
    is not valid UTF-8 is one token of its own (Python's ``surrogateescape``).

    Instead of strings, ``hyps`` and ``refs`` may hold integer id sequences (1-D arrays or
    lists, or the rows of a 2-D array); their elements are the tokens and ``level`` does
    not apply. Lingvo's token error rate is this over ``topk_ids[:topk_lens]`` and the
    unpadded label ids.

    The distance is the minimum number of edits. How it splits into substitutions,
    insertions and deletions when several alignments tie follows Lingvo's
    ``levenshtein_distance``: a substitution (or match) is chosen when strictly cheaper
    than both alternatives, else a deletion when strictly cheaper than an insertion, else
    the insertion. The GIL is released while the kernel runs.

    Args:
      hyps: The hypotheses: a batch of str/bytes, or of integer id sequences.
      refs: The references, of the same batch size and kind.
      level: ``"word"`` or ``"char"``.

    Returns:
      ``EditCounts(substitutions, insertions, deletions, ref_lengths)``, int64 [batch]
      each; ``.errors`` is their edit distance.

    Raises:
      ValueError: Bad ``level``, the batch sizes differ, a batch is a single string, an id
        sequence is not 1-D, or a str holds a lone surrogate (UnicodeEncodeError).
      TypeError: Strings and id sequences are mixed, or ids are not integers.
    """
    counts = _ops._edit_distance(hyps, refs, level)
    return EditCounts(counts[:, 0], counts[:, 1], counts[:, 2], counts[:, 3])


def best_step(
    hist_file: str | os.PathLike[str],
    tol: float = 0.0,
    minimize: bool = True,
    metric: str = "",
) -> np.ndarray:
    """The best and the last step of a metric's history (Lingvo's BestStep).

    ``hist_file`` is either a text file of ``"<step> <value>"`` lines (one space), or,
    when it contains ``events.out.tfevents``, a glob of TensorFlow event files read for
    the ``simple_value`` summaries tagged ``metric`` (parsed here, without TensorFlow or
    protobuf). The first value of a step wins. Steps are visited in increasing order and
    the best moves to a step whose value + ``tol`` is below the best so far (above, with
    ``minimize=False``); step 0 is never kept as the best once a later step exists.

    Args:
      hist_file: The history file, or the glob of event files.
      tol: How much better (>= 0) a value must be to become the best.
      minimize: Whether lower values are better.
      metric: The summary tag to read from event files.

    Returns:
      int64 ``[best_step, last_step]``; ``[0, 0]`` (with a warning on the ``lingvo.ops``
      logger) when there is no history file.

    Raises:
      ValueError: ``tol < 0``, a malformed text line (the message names file and line), or
        a malformed event proto.
      DataLossError: A corrupt event file record.
    """
    best, last, found = _ops._best_step(os.fspath(hist_file), float(tol), bool(minimize), metric)
    if not found:
        _LOG.warning("best_step: no history at %r; returning [0, 0]", os.fspath(hist_file))
    return np.array([best, last], dtype=np.int64)
