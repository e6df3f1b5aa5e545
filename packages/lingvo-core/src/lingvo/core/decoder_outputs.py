"""Decoder output files (`<logdir>/decoder_<dataset>/`) and attention pictures."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any, NamedTuple

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


class DecodedExample(NamedTuple):
    """One line of a decoder output file.

    Attributes:
      ref: The reference text.
      hyp: The best hypothesis' text.
      score: Its score (the beam search's normalized score).
    """

    ref: str
    hyp: str
    score: float


def _Text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value)


def _Escape(text: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in text)


def _Unescape(text: str, path: str, line_no: int) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _UNESCAPES:
                raise ValueError(f"{path}:{line_no}: bad escape in {text!r}")
            out.append(_UNESCAPES[text[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def DecoderDir(logdir: str, dataset_name: str) -> str:
    """The folder a decoder job writes for one dataset: `<logdir>/decoder_<dataset_name>`."""
    return os.path.join(logdir, f"decoder_{dataset_name}")


def DecoderOutPath(logdir: str, dataset_name: str, global_step: int) -> str:
    """The output file of one decode pass: `decoder_<dataset>/decoder_out_<step:09d>`."""
    return os.path.join(DecoderDir(logdir, dataset_name), f"decoder_out_{global_step:09d}")


def WriteDecoderOutputs(
    logdir: str, dataset_name: str, global_step: int, examples: Iterable[Any]
) -> str:
    """Writes one decode pass's results, one line per example: `ref<TAB>hyp<TAB>score`.

    Tabs, newlines, carriage returns and backslashes inside texts are written as `\\t`, `\\n`,
    `\\r` and `\\\\`, so every example stays on one line. The file is written to a temporary
    name and renamed, so readers never see half a file.

    Args:
      logdir: The job's log directory.
      dataset_name: The dataset decoded (e.g. `Test`).
      global_step: The checkpoint's step; it names the file.
      examples: `(ref, hyp, score)` triples (`DecodedExample`s, tuples; str or bytes texts).

    Returns:
      The path written.
    """
    path = DecoderOutPath(logdir, dataset_name, global_step)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for example in examples:
            ref, hyp, score = example
            f.write(f"{_Escape(_Text(ref))}\t{_Escape(_Text(hyp))}\t{float(score)!r}\n")
    os.replace(tmp, path)
    return path


def ReadDecoderOutputs(path: str) -> list[DecodedExample]:
    """Reads a file written by `WriteDecoderOutputs`.

    Args:
      path: The file.

    Returns:
      The examples, in file order.

    Raises:
      ValueError: A line is not `ref<TAB>hyp<TAB>score`; the message names file and line.
    """
    examples = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for line_no, line in enumerate(f, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise ValueError(
                    f"{path}:{line_no}: expected 3 tab-separated fields (ref, hyp, score), "
                    f"got {len(fields)}"
                )
            try:
                score = float(fields[2])
            except ValueError:
                raise ValueError(f"{path}:{line_no}: score {fields[2]!r} is not a number") from None
            examples.append(
                DecodedExample(
                    _Unescape(fields[0], path, line_no), _Unescape(fields[1], path, line_no), score
                )
            )
    return examples


def AttentionImageSummary(name: str, atten_probs: Any, step: int, max_outputs: int = 3) -> Any:
    """Writes attention alignments as TensorBoard images (target steps down, source across).

    Call inside a `tf.summary` writer's `as_default()` context.

    Args:
      name: The summary tag.
      atten_probs: float [batch, target_len, source_len] attention probabilities.
      step: The global step.
      max_outputs: The most examples drawn.

    Returns:
      Whether the summary was written (False without a default writer).
    """
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    # Written in TensorBoard's image-plugin layout ([width, height, png...] strings) so that
    # the pictures show up without the tensorboard package installed.
    atten = tf.convert_to_tensor(atten_probs, tf.float32)[:max_outputs]
    peak = tf.reduce_max(atten, axis=[1, 2], keepdims=True)
    pixels = tf.cast(tf.round(255.0 * atten / tf.maximum(peak, 1e-9)), tf.uint8)[..., None]
    pngs = tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)
    shape = tf.shape(atten)
    dims = tf.strings.as_string(tf.stack([shape[2], shape[1]]))
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "images"
    return tf.summary.write(name, tf.concat([dims, pngs], 0), step=step, metadata=metadata)


def IsFiniteScore(score: float) -> bool:
    """Whether a score is worth writing as a number (not NaN or infinite)."""
    return math.isfinite(score)
