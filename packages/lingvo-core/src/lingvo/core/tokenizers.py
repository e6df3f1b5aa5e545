"""Tokenizer layers (ASCII, vocabulary file, word piece) over the lingvo-ops kernels."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from lingvo import ops
from lingvo.core import base_layer, hyperparams

__all__ = [
    "AsciiTokenizer",
    "BaseTokenizer",
    "VocabFileTokenizer",
    "WpmTokenizer",
]


def _Strings(x: np.ndarray) -> np.ndarray:
    """A 1-D object array of bytes, as the kernels take it."""
    return np.asarray(x, dtype=object).reshape([-1])


class BaseTokenizer(base_layer.BaseLayer):
    """Turns strings into (ids, labels, paddings) and ids back into strings.

    Every tokenizer follows Lingvo's layout: `ids = [sos] + tokens`, `labels = tokens + [eos]`,
    `paddings` 0.0 over the tokens (and over eos when it is appended), 1.0 elsewhere; padded
    positions of `ids` and `labels` hold eos. How a sequence longer than `max_length` is cut
    depends on the tokenizer (see each class).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the tokenizer params."""
        p = super().Params()
        p.name = "tokenizer"
        p.Define("vocab_size", 64, "The size of the vocabulary.")
        p.Define("append_eos", True, "Whether the end-of-sentence id ends every label sequence.")
        p.Define(
            "pad_to_max_length",
            True,
            "Whether outputs are padded to max_length instead of the batch's longest sequence.",
        )
        p.Define("target_unk_id", 0, "The id of the unknown token.")
        p.Define("target_sos_id", 1, "The id of the start-of-sentence token.")
        p.Define("target_eos_id", 2, "The id of the end-of-sentence token.")
        p.Define("target_wb_id", -1, "The id of the word-boundary token; -1 when there is none.")
        return p

    def StringsToIds(
        self,
        strs: Any,
        max_length: int,
        external_append_eos: bool | None = None,
        languages: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Tokenizes a batch of strings.

        Args:
          strs: A string tensor (or list of str / bytes) shaped [batch].
          max_length: The width of the outputs when `pad_to_max_length`, and the longest
            sequence kept.
          external_append_eos: Overrides `params.append_eos` when not None.
          languages: Unused; kept for Lingvo's signature.

        Returns:
          `(ids, labels, paddings)`: int32, int32 and float32 tensors shaped
          [batch, max_length] (or [batch, longest] without `pad_to_max_length`).
        """
        del languages
        p = self.params
        append_eos = p.append_eos if external_append_eos is None else bool(external_append_eos)
        strs = tf.convert_to_tensor(strs, tf.string)
        fn = self._StringsToIdsFn(int(max_length), append_eos, bool(p.pad_to_max_length))
        ids, labels, paddings = tf.numpy_function(
            lambda s: fn(_Strings(s)),
            [strs],
            [tf.int32, tf.int32, tf.float32],
            stateful=False,
            name="StringsToIds",
        )
        width = int(max_length) if p.pad_to_max_length else None
        shape = [strs.shape[0] if strs.shape.rank else None, width]
        return (
            tf.ensure_shape(ids, shape),
            tf.ensure_shape(labels, shape),
            tf.ensure_shape(paddings, shape),
        )

    def IdsToStrings(self, ids: Any, lens: Any, languages: Any = None) -> tf.Tensor:
        """Turns the first `lens[b]` ids of each row back into a string.

        Args:
          ids: int tensor shaped [batch, time].
          lens: int tensor shaped [batch].
          languages: Unused; kept for Lingvo's signature.

        Returns:
          A string tensor shaped [batch].
        """
        del languages
        ids = tf.convert_to_tensor(ids)
        lens = tf.convert_to_tensor(lens)
        fn = self._IdsToStringsFn()
        out = tf.numpy_function(
            lambda i, n: np.asarray(fn(np.asarray(i, np.int32), np.asarray(n, np.int32)), object),
            [ids, lens],
            tf.string,
            stateful=False,
            name="IdsToStrings",
        )
        return tf.ensure_shape(out, [ids.shape[0] if ids.shape.rank else None])

    def _StringsToIdsFn(
        self, max_length: int, append_eos: bool, pad: bool
    ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        raise NotImplementedError(f"{type(self).__name__} does not implement StringsToIds")

    def _IdsToStringsFn(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} does not implement IdsToStrings")


class AsciiTokenizer(BaseTokenizer):
    """Characters of Lingvo's fixed 76-symbol ASCII table (lowercased, unknown bytes -> 0).

    Truncation: the text is cut to `max_length - 1` characters and eos is always appended, so
    a cut row is all unpadded and still ends in eos (the vocabulary and word-piece tokenizers
    drop eos instead).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params, with the 76-symbol vocabulary size."""
        p = super().Params()
        p.vocab_size = 76
        return p

    def _StringsToIdsFn(self, max_length, append_eos, pad):
        def Fn(strs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return ops.ascii_to_token_ids(
                strs, append_eos=append_eos, maxlen=max_length, pad_to_maxlen=pad
            )

        return Fn

    def _IdsToStringsFn(self):
        return ops.id_to_ascii


class VocabFileTokenizer(BaseTokenizer):
    """Words (split on `tokens_delimiter`) looked up in a vocabulary file.

    The file is read once, when the layer is built (a malformed line raises there, naming the
    file and line). Truncation: a sentence of `max_length` or more tokens is cut so that `ids`
    fills `max_length` and has no eos; all its positions are unpadded. `IdsToStrings` maps ids
    to tokens by line number (the ids column is ignored, as in Lingvo) and joins them with
    `tokens_delimiter`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params of the vocabulary file."""
        p = super().Params()
        p.Define("token_vocab_filepath", None, "The vocabulary file of whole tokens.")
        p.Define(
            "ngram_vocab_filepath",
            None,
            "A vocabulary of n-grams whose ids are line numbers; set this or "
            "token_vocab_filepath, not both.",
        )
        p.Define("ngram_separator", "", "The string that joins n-grams in IdsToStrings.")
        p.Define("tokens_delimiter", " ", "The characters that separate tokens in a string.")
        p.Define(
            "load_token_ids_from_vocab",
            True,
            "Whether token ids come from the second column of token_vocab_filepath (else line "
            "numbers).",
        )
        p.Define(
            "lookup_in_graph",
            True,
            "Whether StringsToIds runs as TensorFlow string ops and a hash table holding the "
            "kernel's own token ids (no Python per call, so tf.data runs it in parallel); False "
            "calls the lingvo.ops kernel through tf.numpy_function. Both give the same outputs. "
            "Delimiters with non-ASCII bytes always use the kernel.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if bool(p.token_vocab_filepath) == bool(p.ngram_vocab_filepath):
            raise ValueError(
                f"VocabFileTokenizer {p.name!r}: set exactly one of token_vocab_filepath "
                f"({p.token_vocab_filepath!r}) and ngram_vocab_filepath "
                f"({p.ngram_vocab_filepath!r})"
            )
        if p.token_vocab_filepath:
            path, load_ids = p.token_vocab_filepath, bool(p.load_token_ids_from_vocab)
            separator = p.tokens_delimiter
        else:
            path, load_ids, separator = p.ngram_vocab_filepath, False, p.ngram_separator
        setter = object.__setattr__
        setter(self, "_vocab", ops.Vocabulary(path, load_token_ids_from_vocab=load_ids))
        # Lingvo decodes by line number whatever the ids column says.
        setter(
            self,
            "_line_vocab",
            self._vocab if not load_ids else ops.Vocabulary(path, load_token_ids_from_vocab=False),
        )
        setter(self, "_separator", separator)
        setter(self, "_table", None)

    def _LooksUpInGraph(self) -> bool:
        delimiter = self.params.tokens_delimiter
        return bool(self.params.lookup_in_graph) and all(ord(c) < 128 for c in delimiter)

    @tf.autograph.experimental.do_not_convert
    def _Table(self) -> tf.lookup.StaticHashTable:
        """token -> id over every token of the file, the ids asked of the kernel; built once."""
        if self._table is None:
            contents = pathlib.Path(os.fsdecode(self._vocab.path)).read_bytes()
            # The kernel's file rule: '\n'-separated non-empty lines, the token before any TAB.
            tokens = sorted({line.split(b"\t", 1)[0] for line in contents.split(b"\n") if line})
            tokens = [t for t in tokens if t in self._vocab]
            ids = ops.vocab_token_to_id(np.asarray(tokens, dtype=object), self._vocab)
            with tf.init_scope():  # eager, outside any tf.data or tf.function graph
                init = tf.lookup.KeyValueTensorInitializer(
                    tf.constant(tokens, tf.string), tf.constant(ids, tf.int32)
                )
                table = tf.lookup.StaticHashTable(init, default_value=self._vocab.unk_id)
            object.__setattr__(self, "_table", table)
        return self._table

    def StringsToIds(
        self,
        strs: Any,
        max_length: int,
        external_append_eos: bool | None = None,
        languages: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Tokenizes a batch of strings; see `BaseTokenizer.StringsToIds`.

        With `lookup_in_graph` the kernel's rules run as TensorFlow ops: split on any byte of
        `tokens_delimiter` (each byte with an empty delimiter), drop pieces that are empty or
        all ASCII whitespace, look up (unknown -> unk), keep the first `max_length` tokens.
        """
        if not self._LooksUpInGraph():
            return super().StringsToIds(strs, max_length, external_append_eos, languages)
        del languages
        p = self.params
        append_eos = p.append_eos if external_append_eos is None else bool(external_append_eos)
        maxlen = int(max_length)
        if maxlen < 1:
            raise ValueError(
                f"VocabFileTokenizer {p.name!r}: max_length must be >= 1, got {maxlen}"
            )
        strs = tf.convert_to_tensor(strs, tf.string)
        static_batch = strs.shape[0] if strs.shape.rank else None
        sos, eos = self._vocab.sos_id, self._vocab.eos_id
        if strs.shape.rank == 0 or static_batch == 1:
            return self._OneStringToIds(tf.reshape(strs, []), maxlen, append_eos, sos, eos)
        strs = tf.reshape(strs, [-1])
        pieces = _SplitTokens(strs, p.tokens_delimiter)
        rows = self._Table().lookup(pieces)[:, :maxlen]
        n = tf.cast(rows.row_lengths(), tf.int32)
        if p.pad_to_max_length:
            width = tf.constant(maxlen)
        else:
            width = tf.reduce_max(tf.concat([tf.minimum(n + 1, maxlen), [0]], 0))
        batch = tf.shape(strs)[0]
        labels = rows.to_tensor(default_value=eos, shape=[batch, width])
        ids = tf.concat([tf.fill([batch, 1], sos), labels], 1)[:, :width]
        real = n + tf.cast(append_eos, tf.int32) * tf.cast(n < maxlen, tf.int32)
        paddings = 1.0 - tf.sequence_mask(real, width, tf.float32)
        shape = [static_batch, maxlen if p.pad_to_max_length else None]
        return (
            tf.ensure_shape(ids, shape),
            tf.ensure_shape(labels, shape),
            tf.ensure_shape(paddings, shape),
        )

    def _OneStringToIds(
        self, s: tf.Tensor, maxlen: int, append_eos: bool, sos: int, eos: int
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """`StringsToIds` of one string (a per-record processor's case) without ragged tensors.

        About a third of the ops of the batch path: inside tf.data every op of a per-record
        function costs scheduling time, which dominates at these sizes.
        """
        pieces = _SplitOne(s, self.params.tokens_delimiter)
        row = self._Table().lookup(pieces[:maxlen])
        n = tf.size(row)
        width = maxlen if self.params.pad_to_max_length else tf.minimum(n + 1, maxlen)
        labels = tf.concat([row, tf.fill([width - n], eos)], 0)
        ids = tf.concat([[sos], labels], 0)[:width]
        real = tf.minimum(n + 1, maxlen) if append_eos else n
        paddings = tf.cast(tf.range(width) >= real, tf.float32)
        shape = [1, maxlen if self.params.pad_to_max_length else -1]
        return tuple(tf.reshape(x, shape) for x in (ids, labels, paddings))

    def _StringsToIdsFn(self, max_length, append_eos, pad):
        vocab, delimiter = self._vocab, self.params.tokens_delimiter

        def Fn(strs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return ops.str_to_vocab_tokens(
                strs,
                vocab,
                append_eos=append_eos,
                maxlen=max_length,
                pad_to_maxlen=pad,
                delimiter=delimiter,
            )

        return Fn

    def _IdsToStringsFn(self):
        vocab, separator = self._line_vocab, self._separator

        def Fn(ids: np.ndarray, lens: np.ndarray) -> np.ndarray:
            return ops.ngram_id_to_token(ids, lens, vocab, ngram_separator=separator)

        return Fn


def _SplitOne(s: tf.Tensor, delimiter: str) -> tf.Tensor:
    """`_SplitTokens` of one string scalar as a dense 1-D tensor, in the fewest ops."""
    if not delimiter:
        return tf.strings.bytes_split(s)
    if len(delimiter) > 1:
        byte_class = "".join(f"\\x{ord(c):02x}" for c in delimiter)
        s = tf.strings.regex_replace(s, f"[{byte_class}]", delimiter[0])
    _, pieces, _ = tf.raw_ops.StringSplitV2(input=tf.reshape(s, [1]), sep=delimiter[0])
    words = tf.strings.length(tf.strings.strip(pieces)) > 0
    return tf.gather(pieces, tf.reshape(tf.where(words), [-1]))


def _SplitTokens(strs: tf.Tensor, delimiter: str) -> tf.RaggedTensor:
    """The kernel's token split of each string, as a ragged [batch, None] string tensor."""
    if not delimiter:  # every byte is a token, blanks included
        return tf.strings.bytes_split(strs)
    if len(delimiter) > 1:  # any byte of the delimiter splits: map them all to the first
        byte_class = "".join(f"\\x{ord(c):02x}" for c in delimiter)
        strs = tf.strings.regex_replace(strs, f"[{byte_class}]", delimiter[0])
    pieces = tf.strings.split(strs, sep=delimiter[0])
    # strip() removes exactly the kernel's ASCII whitespace, on bytes (RE2 would need UTF-8).
    words = tf.strings.length(tf.strings.strip(pieces.flat_values)) > 0
    if strs.shape.rank == 1 and strs.shape[0] == 1:  # one row: a plain mask, no ragged ops
        return tf.RaggedTensor.from_row_lengths(
            tf.boolean_mask(pieces.flat_values, words),
            tf.reshape(tf.reduce_sum(tf.cast(words, tf.int64)), [1]),
            validate=False,
        )
    return tf.ragged.boolean_mask(pieces, pieces.with_flat_values(words))


class WpmTokenizer(BaseTokenizer):
    """Word pieces of a `.voc` file, merged greedily (Lingvo's `WpmEncoder`).

    The model is read once, when the layer is built. Its unk/sos/eos ids must be 0/1/2.
    Truncation: as `VocabFileTokenizer`, a cut row fills `max_length` and has no eos.
    `IdsToStrings` joins the pieces, turns the word-start mark into spaces and strips.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params of the word-piece vocabulary."""
        p = super().Params()
        p.Define("vocab_filepath", None, "The word-piece vocabulary file, one piece per line.")
        p.Define(
            "merge_prob",
            1.0,
            "The probability of each merge; only 1.0 (always merge) is supported.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not p.vocab_filepath:
            raise ValueError(f"WpmTokenizer {p.name!r}: vocab_filepath is not set")
        if p.merge_prob != 1.0:
            raise ValueError(
                f"WpmTokenizer {p.name!r}: merge_prob={p.merge_prob} is not supported; expected 1.0"
            )
        wpm = ops.WordPieceModel(p.vocab_filepath)
        ids = (wpm.unk_id, wpm.sos_id, wpm.eos_id)
        if ids != (p.target_unk_id, p.target_sos_id, p.target_eos_id) or ids != (0, 1, 2):
            raise ValueError(
                f"WpmTokenizer {p.name!r}: {p.vocab_filepath} has unk/sos/eos ids {ids}; "
                "expected (0, 1, 2)"
            )
        object.__setattr__(self, "_wpm", wpm)

    def _StringsToIdsFn(self, max_length, append_eos, pad):
        wpm = self._wpm

        def Fn(strs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return wpm.strings_to_ids(strs, max_length, append_eos=append_eos, pad_to_maxlen=pad)

        return Fn

    def _IdsToStringsFn(self):
        return self._wpm.ids_to_strings
