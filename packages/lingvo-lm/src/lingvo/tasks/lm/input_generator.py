"""`LmInput`: one tokenized sentence per text line, bucketed by its word count."""

from __future__ import annotations

import tensorflow as tf

from lingvo.core import base_input_generator, hyperparams
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.lm.tools import vocab

__all__ = ["LmInput"]


def _CheckWordVocab(params: hyperparams.InstantiableParams) -> None:
    """Checks a word vocabulary file before the tokenizer reads it.

    The tokenizer would accept a repeated word (the later line silently wins) and reports a
    missing special token without a line; the lm1b layout check names the line.
    """
    tok = params.tokenizer
    path = getattr(tok, "token_vocab_filepath", None) if tok is not None else None
    if path and getattr(tok, "load_token_ids_from_vocab", True):
        vocab.CheckVocab(path)


class LmInput(base_input_generator.BaseSequenceInputGenerator):
    """Reads `text:` files of space-tokenized sentences (lm1b layout) for language models.

    Each line becomes `ids`, `labels`, `paddings` and `weights = 1 - paddings`, shaped
    [target_max_length] (the tokenizer's layout: `ids = [sos] + tokens`, `labels = tokens +
    [eos]`, padded positions hold eos), plus `word_count`, the number of whitespace-separated
    words of the whole line (truncation does not change it). Batches are [batch,
    target_max_length]; the task trims them to the longest row.

    The bucket key is the word count, not the character count: Lingvo meant characters but,
    under TF2's string-split semantics, its key counts words, and its fixtures depend on that.
    Lines longer than the last bucket bound are dropped; empty (or all-space) lines are
    skipped. Both are counted: see `InputStats()` (the task puts the counts in its training
    metrics). A word vocabulary (`tokenizer.token_vocab_filepath`) must be in the lm1b
    layout: the four special tokens first, no word twice (`tools.vocab.CheckVocab`).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params: ASCII (character) tokenizer, padded to `target_max_length`."""
        p = super().Params()
        # Lingvo forces this; here every row already is the tokenizer's full-width output.
        p.pad_to_max_seq_length = True
        p.Define(
            "fixed_input_shape",
            False,
            "Whether batches get a static shape [max bucket batch limit, target_max_length] "
            "(for TPUs); partial batches are then padded with empty rows.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        _CheckWordVocab(params)
        super().__init__(params)
        setter = object.__setattr__  # outside TF's tracking: counters, not model state
        setter(self, "_num_empty", tf.Variable(0, dtype=tf.int64, trainable=False))
        setter(self, "_num_too_long", tf.Variable(0, dtype=tf.int64, trainable=False))
        setter(self, "_num_kept", tf.Variable(0, dtype=tf.int64, trainable=False))

    @property
    def num_empty_lines(self) -> tf.Variable:
        """The counter of lines skipped as empty (an int64 variable, read in graphs)."""
        return self._num_empty

    @property
    def num_too_long_lines(self) -> tf.Variable:
        """The counter of lines dropped for having more words than the last bucket bound."""
        return self._num_too_long

    def InputStats(self) -> dict[str, int]:
        """Returns the record counts since the generator was built, over every pass read.

        Returns:
          `{'num_empty_lines': ..., 'num_too_long_lines': ..., 'num_kept_lines': ...}`:
          lines skipped as empty, lines dropped for having more words than the last bucket
          bound, and lines batched. Counts grow as the pipeline reads ahead (prefetching).
        """
        return {
            "num_empty_lines": int(self._num_empty.numpy()),
            "num_too_long_lines": int(self._num_too_long.numpy()),
            "num_kept_lines": int(self._num_kept.numpy()),
        }

    def _ProcessRecord(self, record: tf.Tensor) -> tuple[NestedMap, tf.Tensor]:
        """Tokenizes one line; the key is its word count, -1 to drop it.

        Args:
          record: A string scalar, one line of the text file.

        Returns:
          `(example, bucket_key)`: `example` holds `ids`, `labels` (int32), `paddings`,
          `weights` (float32), each shaped [target_max_length], and `word_count` (int32
          scalar); `bucket_key` is an int32 scalar.
        """
        p = self.params
        word_count = tf.size(tf.strings.split(record), out_type=tf.int32)
        ids, labels, paddings = self.StringsToIds(tf.reshape(record, [1]))
        last = int(p.bucket_upper_bound[-1])
        empty = tf.equal(word_count, 0)
        too_long = word_count > last
        self._num_empty.assign_add(tf.cast(empty, tf.int64))
        self._num_too_long.assign_add(tf.cast(too_long, tf.int64))
        keep = tf.logical_not(tf.logical_or(empty, too_long))
        self._num_kept.assign_add(tf.cast(keep, tf.int64))
        example = NestedMap(
            ids=ids[0],
            labels=labels[0],
            paddings=paddings[0],
            weights=1.0 - paddings[0],
            word_count=word_count,
        )
        return example, tf.where(keep, word_count, -1)

    def _PostBatch(self, batch: NestedMap) -> NestedMap:
        """Pads to the static shape with empty rows when `fixed_input_shape` is set."""
        batch = super()._PostBatch(batch)
        p = self.params
        if not p.fixed_input_shape:
            return batch
        rows = self.InfeedBatchSize()
        missing = rows - tf.shape(batch.ids)[0]
        eos = p.tokenizer.target_eos_id if p.tokenizer is not None else 2

        def Pad(key: str, x: tf.Tensor) -> tf.Tensor:
            value = {"paddings": 1, "ids": eos, "labels": eos}.get(key, 0)
            pad = [[0, missing]] + [[0, 0]] * (x.shape.rank - 1)
            x = tf.pad(x, pad, constant_values=tf.cast(value, x.dtype))
            return tf.ensure_shape(x, [rows, *x.shape.as_list()[1:]])

        return batch.TransformWithKey(Pad)
