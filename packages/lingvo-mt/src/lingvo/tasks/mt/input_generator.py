"""MT input generators: `NmtInput` over Lingvo's tf.Example records and `TextPackedInput`.

Batches are batch-major `NestedMap`s: `src.ids` and `src.paddings` shaped [batch, src_time],
`tgt.ids`, `tgt.labels`, `tgt.paddings` and `tgt.weights` shaped [batch, tgt_time], plus
`bucket_keys` [batch]. Paddings are 1.0 where padded; padded ids, labels and weights are 0.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import tensorflow as tf

from lingvo import ops
from lingvo.core import base_input_generator, hyperparams, tf_example, tokenizers
from lingvo.core.nested_map import NestedMap

__all__ = ["WPM_ENDE_2K", "NmtInput", "TextPackedInput"]

# The 2,000-piece English-German word-piece vocabulary shipped with the package.
WPM_ENDE_2K = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wpm-ende-2k.voc")

_NUMERIC_FEATURES = tf_example.FeatureSpec(
    int64=["source_id", "target_id", "target_label"],
    float32=["source_padding", "target_padding", "target_weight"],
)


def _HasVocab(tokenizer_params: hyperparams.Params | None) -> bool:
    """Whether tokenizer params can be built: something other than a path-less vocab file."""
    if tokenizer_params is None:
        return False
    if issubclass(tokenizer_params.cls, tokenizers.VocabFileTokenizer):
        return bool(tokenizer_params.token_vocab_filepath or tokenizer_params.ngram_vocab_filepath)
    if issubclass(tokenizer_params.cls, tokenizers.WpmTokenizer):
        return bool(tokenizer_params.vocab_filepath)
    return True


class _MtInputBase(base_input_generator.BaseSequenceInputGenerator):
    """Shared by the MT inputs: a tokenizer that may be absent until decoding needs one."""

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        params = params.Copy()
        params.Unfreeze()
        # A vocabulary is needed only to turn ids into strings; an input built without one
        # still produces batches, and IdsToStrings says what is missing.
        if not _HasVocab(params.tokenizer):
            params.tokenizer = None
        super().__init__(params)

    def IdsToStrings(
        self, ids: Any, lens: Any, key: str | None = None, languages: Any = None
    ) -> tf.Tensor:
        """Turns id rows shaped [batch, time] with lengths [batch] into strings [batch].

        Raises:
          ValueError: If the input has no tokenizer (no vocabulary file was given).
        """
        if not self.tokenizer_dict:
            raise ValueError(
                f"{type(self).__name__} {self.params.name!r}: no vocabulary to turn ids into "
                "strings; set tokenizer.token_vocab_filepath (or the tokenizer's vocab file)"
            )
        return super().IdsToStrings(ids, lens, key=key, languages=languages)

    def SummaryCounters(self) -> dict[str, tf.Variable]:
        """The counters of records dropped or altered so far, for the training summaries.

        Here `num_too_long_for_buckets`: examples longer than the last bucket bound (the
        bucketing's drop counter; absent until the pipeline is built). Subclasses add theirs.
        """
        drops = self.__dict__.get("_drop_counter")
        return {} if drops is None else {"num_too_long_for_buckets": drops.too_large}


class NmtInput(_MtInputBase):
    """Reads Lingvo's NMT tf.Example records (`source_id`, `target_id`, `target_label`, ...).

    Each record holds `source_id` (ending in `</s>`), `target_id` (starting with `<s>`),
    `target_label` (ending in `</s>`), `source_padding`, `target_padding` and
    `target_weight`; the string features are ignored. The bucket key is the longer of the
    unpadded source and target lengths. The tokenizer (a vocabulary file whose ids are line
    numbers) serves only `IdsToStrings` when decoding.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params, with Lingvo's NmtInput defaults."""
        p = super().Params()
        p.source_max_length = 300
        p.target_max_length = 300
        p.tokenizer = tokenizers.VocabFileTokenizer.Params().Set(load_token_ids_from_vocab=False)
        return p

    def _ProcessRecord(self, record: tf.Tensor) -> tuple[NestedMap, tf.Tensor]:
        """Parses one record into a `NestedMap` example and its bucket key."""
        f = tf_example.ParseExample(record, _NUMERIC_FEATURES)
        src_paddings = f["source_padding"]
        tgt_paddings = f["target_padding"]
        example = NestedMap(
            src=NestedMap(ids=tf.cast(f["source_id"], tf.int32), paddings=src_paddings),
            tgt=NestedMap(
                ids=tf.cast(f["target_id"], tf.int32),
                labels=tf.cast(f["target_label"], tf.int32),
                paddings=tgt_paddings,
                weights=f["target_weight"],
            ),
        )
        src_len = tf.reduce_sum(1.0 - src_paddings)
        tgt_len = tf.reduce_sum(1.0 - tgt_paddings)
        key = tf.cast(tf.round(tf.maximum(src_len, tgt_len)), tf.int32)
        return example, key


class TextPackedInput(_MtInputBase):
    """Tokenizes `source<TAB>target` text lines (an optional third column is ignored).

    The source is the tokenizer's labels (tokens then `</s>`); the target's ids start with
    `<s>` and its labels end with `</s>`. Padded positions of ids and labels are zero (the
    tokenizers fill them with `</s>`). Sequences cut by `source_max_length` or
    `target_max_length` are dropped unless `keep_truncated`. Every row is padded to the max
    length; lines with an empty side are dropped. `segment_ids` (1 on tokens, 0 on padding)
    and `segment_pos` (0-based positions) describe the one segment of each row; `src.strs`
    holds each row's raw line.

    Nothing is dropped silently: the pairs with an empty side, the pairs dropped for their
    length, and the word pieces the vocabulary cannot spell (`<unk>`, one per unknown
    character) are counted by int64 variables (`InputStats()`, and in training the task's
    summaries through `SummaryCounters()`), over every pass read, including read-ahead.

    With `packing_factor` (> 1), each bucket gathers `packing_factor` times its batch limit
    of examples and `lingvo.ops.pack_sequences` / `apply_packing` pack them, first fit, into
    `ceil(examples / packing_factor)` rows of `source_max_length` / `target_max_length`
    positions (the first examples start one row each); `segment_ids` number the examples
    of a row from 1 (0 = padding) and `segment_pos` counts from 0 within each. Examples that
    fit no row are dropped and show in `PackingStats()` (Lingvo's summaries
    `examples/src_packed_token_ratio`, `examples/tgt_packed_token_ratio` and
    `examples/num_packed_examples`). `bucket_keys` becomes the longer packed side of a row;
    `src.strs` stays one line per example packed ([examples], not [rows]).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params: a word-piece tokenizer and the text options."""
        p = super().Params()
        p.source_max_length = 300
        p.target_max_length = 300
        p.tokenizer = tokenizers.WpmTokenizer.Params().Set(vocab_filepath=WPM_ENDE_2K)
        p.Define(
            "keep_truncated",
            False,
            "Whether sequences longer than the max lengths are kept (cut) instead of dropped.",
        )
        p.Define(
            "packing_factor",
            None,
            "If set (> 0), about this many examples are packed into each row (None: no "
            "packing, one example a row).",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.packing_factor is not None and not (
            isinstance(p.packing_factor, (int, float)) and p.packing_factor > 0
        ):
            raise ValueError(
                f"TextPackedInput {p.name!r}: packing_factor must be None or a positive "
                f"number, got {p.packing_factor!r}"
            )
        setter = object.__setattr__  # outside TF's tracking: counters, not model state
        setter(self, "_packing_totals", [0, 0, 0, 0, 0])
        setter(self, "_num_empty", tf.Variable(0, dtype=tf.int64, trainable=False))
        setter(self, "_num_too_long", tf.Variable(0, dtype=tf.int64, trainable=False))
        setter(self, "_num_unk", tf.Variable(0, dtype=tf.int64, trainable=False))
        if not p.source_max_length or not p.target_max_length:
            raise ValueError(
                f"TextPackedInput {p.name!r}: source_max_length and target_max_length must be "
                f"set, got {p.source_max_length} and {p.target_max_length}"
            )

    def SummaryCounters(self) -> dict[str, tf.Variable]:
        """`num_empty_pairs`, `num_too_long_pairs` (cut by the max lengths and dropped; 0
        with `keep_truncated`), `num_unk_pieces` (in the pairs kept), plus the base's."""
        counters = super().SummaryCounters()
        counters["num_empty_pairs"] = self._num_empty
        counters["num_too_long_pairs"] = self._num_too_long
        counters["num_unk_pieces"] = self._num_unk
        return counters

    def InputStats(self) -> dict[str, int]:
        """The drop counts of the bucketing plus `SummaryCounters()`, as Python ints."""
        stats = super().InputStats()
        stats.update({k: int(v.numpy()) for k, v in self.SummaryCounters().items()})
        return stats

    def _Side(self, text: tf.Tensor, is_source: bool) -> tuple[NestedMap, tf.Tensor, tf.Tensor]:
        """Tokenizes one side; returns its fields, its length and whether it was cut."""
        ids, labels, paddings = self.StringsToIds(tf.reshape(text, [1]), is_source=is_source)
        ids, labels, paddings = ids[0], labels[0], paddings[0]
        keep = 1.0 - paddings
        ids = ids * tf.cast(keep, tf.int32)
        labels = labels * tf.cast(keep, tf.int32)
        length = tf.cast(tf.round(tf.reduce_sum(keep)), tf.int32)
        eos = self.tokenizer.params.target_eos_id
        # A cut sequence fills every position and lost its end-of-sentence label.
        truncated = tf.logical_and(
            tf.equal(length, tf.shape(paddings)[0]), tf.not_equal(labels[-1], eos)
        )
        pos = tf.range(tf.shape(paddings)[0], dtype=tf.int32) * tf.cast(keep, tf.int32)
        side = NestedMap(paddings=paddings, segment_ids=keep, segment_pos=pos)
        if is_source:
            side.ids = labels
        else:
            side.ids = ids
            side.labels = labels
            side.weights = keep
        return side, length, truncated

    def _ProcessRecord(self, record: tf.Tensor) -> tuple[NestedMap, tf.Tensor]:
        """Splits a `source<TAB>target` line and tokenizes both sides."""
        cols = tf.strings.split(record, "\t")
        cols = tf.concat([cols, tf.constant(["", ""])], axis=0)
        src, src_len, src_cut = self._Side(cols[0], is_source=True)
        tgt, tgt_len, tgt_cut = self._Side(cols[1], is_source=False)
        src.strs = record
        key = tf.maximum(src_len, tgt_len)
        # An empty side (only </s>) is no translation pair: dropped, like too-long pairs.
        empty = tf.logical_or(src_len <= 1, tgt_len <= 1)
        too_long = tf.logical_and(
            tf.logical_not(empty),
            tf.logical_and(tf.logical_or(src_cut, tgt_cut), not self.params.keep_truncated),
        )
        keep = tf.logical_not(tf.logical_or(empty, too_long))
        unk = self.tokenizer.params.target_unk_id
        unknown = tf.reduce_sum(
            tf.cast(tf.equal(src.ids, unk), tf.int64) * tf.cast(src.segment_ids, tf.int64)
        )
        unknown += tf.reduce_sum(
            tf.cast(tf.equal(tgt.labels, unk), tf.int64) * tf.cast(tgt.weights, tf.int64)
        )
        with tf.control_dependencies(
            [
                self._num_empty.assign_add(tf.cast(empty, tf.int64)),
                self._num_too_long.assign_add(tf.cast(too_long, tf.int64)),
                self._num_unk.assign_add(tf.where(keep, unknown, 0)),
            ]
        ):
            key = tf.where(keep, key, -1)
        return NestedMap(src=src, tgt=tgt), key

    # ------------------------------------------------------------------ packing

    @property
    def infeed_bucket_batch_limit(self) -> list[int]:
        """The bucket limits, times `packing_factor` when packing (examples before packing)."""
        limits = super().infeed_bucket_batch_limit
        factor = self.params.packing_factor
        if factor is None:
            return limits
        return [max(1, round(b * factor)) for b in limits]

    def _BuildDataset(self) -> tf.data.Dataset:
        ds = super()._BuildDataset()
        if self.params.packing_factor is None:
            return ds
        return ds.map(self._PackBatch, num_parallel_calls=1)

    def _PackRows(self, src_paddings: np.ndarray, tgt_paddings: np.ndarray) -> list[np.ndarray]:
        """numpy: lays out one batch's examples in rows; updates the packing totals."""
        p = self.params
        src_len = np.round(np.sum(1.0 - src_paddings, axis=1)).astype(np.int32)
        tgt_len = np.round(np.sum(1.0 - tgt_paddings, axis=1)).astype(np.int32)
        rows = max(1, int(np.ceil(len(src_len) / float(p.packing_factor))))
        packed = ops.pack_sequences(
            src_len, tgt_len, rows, p.source_max_length, p.target_max_length,
            seed=p.file_random_seed or 0,
        )  # fmt: skip
        totals = self._packing_totals
        totals[0] += int(np.sum(src_len))
        totals[1] += int(np.sum(packed.src_segment_ids > 0))
        totals[2] += int(np.sum(tgt_len))
        totals[3] += int(np.sum(packed.tgt_segment_ids > 0))
        totals[4] += len({int(i) for i in packed.src_indices_in_input[packed.src_segment_ids > 0]})
        return list(packed)

    def _PackBatch(self, batch: NestedMap) -> NestedMap:
        """Packs one bucketed batch of examples into rows (runs inside tf.data)."""
        layout = tf.numpy_function(
            self._PackRows, [batch.src.paddings, batch.tgt.paddings], [tf.int32] * 6
        )
        src_seg, src_pos, src_idx, tgt_seg, tgt_pos, tgt_idx = layout

        def Pack(x: tf.Tensor, padding: float, seg: tf.Tensor, idx: tf.Tensor) -> tf.Tensor:
            def Apply(values: np.ndarray, s: np.ndarray, i: np.ndarray) -> np.ndarray:
                return ops.apply_packing(values, padding, s, i).astype(values.dtype)

            out = tf.numpy_function(Apply, [x, seg, idx], x.dtype)
            return tf.ensure_shape(out, [None, x.shape[1]])

        src = NestedMap(
            ids=Pack(batch.src.ids, 0, src_seg, src_idx),
            paddings=Pack(batch.src.paddings, 1.0, src_seg, src_idx),
            segment_ids=tf.cast(src_seg, batch.src.paddings.dtype),
            segment_pos=src_pos,
            strs=batch.src.strs,
        )
        tgt = NestedMap(
            ids=Pack(batch.tgt.ids, 0, tgt_seg, tgt_idx),
            labels=Pack(batch.tgt.labels, 0, tgt_seg, tgt_idx),
            weights=Pack(batch.tgt.weights, 0.0, tgt_seg, tgt_idx),
            paddings=Pack(batch.tgt.paddings, 1.0, tgt_seg, tgt_idx),
            segment_ids=tf.cast(tgt_seg, batch.tgt.paddings.dtype),
            segment_pos=tgt_pos,
        )
        src_used = tf.reduce_sum(tf.cast(src_seg > 0, tf.int32), axis=1)
        tgt_used = tf.reduce_sum(tf.cast(tgt_seg > 0, tf.int32), axis=1)
        return NestedMap(src=src, tgt=tgt, bucket_keys=tf.maximum(src_used, tgt_used))

    def PackingStats(self) -> dict[str, float]:
        """Lingvo's packing summaries over the batches packed so far.

        `examples/src_packed_token_ratio` and `examples/tgt_packed_token_ratio`: the fraction
        of the examples' tokens that went into rows (1.0 when nothing was dropped);
        `examples/num_packed_examples`: the examples packed. Empty without packing.
        """
        src_in, src_out, tgt_in, tgt_out, n = self._packing_totals
        if self.params.packing_factor is None:
            return {}
        return {
            "examples/src_packed_token_ratio": src_out / src_in if src_in else 0.0,
            "examples/tgt_packed_token_ratio": tgt_out / tgt_in if tgt_in else 0.0,
            "examples/num_packed_examples": float(n),
        }
