"""`AsrInput`: batches of Lingvo's ASR tf.Example records (`uttid`, `transcript`, `frames`).

Batches are batch-major `NestedMap`s: `src.src_inputs` [batch, time, frame_size, 1] and
`src.paddings` [batch, time]; `tgt.ids`, `tgt.labels`, `tgt.paddings`, `tgt.weights`
[batch, target_max_length]; `sample_ids` [batch, 1] (the utterance ids); `bucket_keys`
[batch]. Paddings are 1.0 where padded.
"""

from __future__ import annotations

import threading

import numpy as np
import tensorflow as tf
from absl import logging

from lingvo.core import base_input_generator, hyperparams, tf_example, tokenizers
from lingvo.core.nested_map import NestedMap

__all__ = ["AsrInput", "DroppedUtterances"]

_FEATURES = tf_example.FeatureSpec(float32=["frames"], string=["uttid", "transcript"])

_lock = threading.Lock()
_dropped: dict[str, int] = {}


def DroppedUtterances() -> dict[str, int]:
    """How many utterances each `AsrInput` (by params name) dropped for being too long."""
    with _lock:
        return dict(_dropped)


def _CountDrop(name: bytes, uttid: bytes, frames: np.int32, limit: np.int32) -> np.int32:
    key = name.decode()
    with _lock:
        _dropped[key] = _dropped.get(key, 0) + 1
        count = _dropped[key]
    logging.warning(
        "AsrInput %r: utterance %r has %d frames, more than the largest bucket (%d); "
        "dropped (%d so far)",
        key,
        uttid.decode("utf-8", "replace"),
        int(frames),
        int(limit),
        count,
    )
    return np.int32(-1)


class AsrInput(base_input_generator.BaseSequenceInputGenerator):
    """Reads the ASR records that `tools/create_asr_features.py` writes.

    Each record holds `uttid` (bytes), `transcript` (bytes, lower-cased) and `frames`, the
    time-major features flattened from [time, frame_size]. The bucket key is the number of
    frames, plus one with `append_eos_frame`; an utterance longer than the largest bucket is
    dropped, logged with its id and counted (`DroppedUtterances`). With `append_eos_frame`
    every utterance gets one extra all-zero, unpadded frame, so each batch is at least one
    frame longer than its longest utterance. The transcript goes through the tokenizer:
    `ids` start with `<s>`, `labels` end with `</s>`, both padded with `</s>`, shaped
    [target_max_length]; `weights = 1 - paddings`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params with Lingvo's AsrInput defaults (ASCII graphemes)."""
        p = super().Params()
        p.Define("frame_size", 40, "The depth of one feature frame (80 for Librispeech).")
        p.Define(
            "append_eos_frame",
            True,
            "Whether an all-zero, unpadded end-of-sentence frame ends every utterance.",
        )
        p.source_max_length = 3000
        p.target_max_length = 620
        p.tokenizer = tokenizers.AsciiTokenizer.Params()
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not isinstance(p.frame_size, int) or p.frame_size <= 0:
            raise ValueError(f"AsrInput {p.name!r}: frame_size must be a positive int")
        if p.tokenizer is None:
            raise ValueError(f"AsrInput {p.name!r}: a tokenizer is needed for the transcripts")

    def _ProcessRecord(self, record: tf.Tensor) -> tuple[NestedMap, tf.Tensor]:
        """Parses one record into a `NestedMap` example and its bucket key (frames)."""
        p = self.params
        f = tf_example.ParseExample(record, _FEATURES)
        uttid = tf.reshape(f["uttid"], [-1])[:1]
        uttid = tf.concat([uttid, [""]], 0)[:1]
        transcript = tf.concat([tf.reshape(f["transcript"], [-1]), [""]], 0)[:1]
        frames = tf.reshape(f["frames"], [-1, p.frame_size])
        num_frames = tf.shape(frames)[0]
        if p.append_eos_frame:
            frames = tf.pad(frames, [[0, 1], [0, 0]])
        src_len = tf.shape(frames)[0]
        ids, labels, paddings = self.StringsToIds(transcript)
        tgt = NestedMap(
            ids=ids[0], labels=labels[0], paddings=paddings[0], weights=1.0 - paddings[0]
        )
        src = NestedMap(src_inputs=frames[:, :, tf.newaxis], paddings=tf.zeros([src_len]))
        key = src_len
        limit = int(max(p.bucket_upper_bound))
        name = p.name
        key = tf.cond(
            key > limit,
            lambda: tf.numpy_function(
                _CountDrop, [tf.constant(name), uttid[0], num_frames, limit], tf.int32
            ),
            lambda: key,
        )
        key = tf.ensure_shape(key, [])
        return NestedMap(src=src, tgt=tgt, sample_ids=uttid), key
