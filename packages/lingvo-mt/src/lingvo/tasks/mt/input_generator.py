"""MT input generators: `NmtInput` over Lingvo's tf.Example records and `TextPackedInput`.

Batches are batch-major `NestedMap`s: `src.ids` and `src.paddings` shaped [batch, src_time],
`tgt.ids`, `tgt.labels`, `tgt.paddings` and `tgt.weights` shaped [batch, tgt_time], plus
`bucket_keys` [batch]. Paddings are 1.0 where padded; padded ids, labels and weights are 0.
"""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf

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
    and `segment_pos` (0-based positions) describe the one segment of each row.
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
            "Packing of several examples per row; not supported yet, so it must stay None.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.packing_factor is not None:
            raise ValueError(
                f"TextPackedInput {p.name!r}: packing_factor={p.packing_factor} is not "
                "supported yet; expected None"
            )
        if not p.source_max_length or not p.target_max_length:
            raise ValueError(
                f"TextPackedInput {p.name!r}: source_max_length and target_max_length must be "
                f"set, got {p.source_max_length} and {p.target_max_length}"
            )

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
        key = tf.maximum(src_len, tgt_len)
        # An empty side (only </s>) is no translation pair: dropped, like too-long pairs.
        empty = tf.logical_or(src_len <= 1, tgt_len <= 1)
        key = tf.where(empty, -1, key)
        if not self.params.keep_truncated:
            key = tf.where(tf.logical_or(src_cut, tgt_cut), -1, key)
        return NestedMap(src=src, tgt=tgt), key
