"""Word-piece encodes parallel text into Lingvo's NMT tf.Example TFRecords (`NmtInput`).

Each written record holds, for one sentence pair, with one word-piece inventory shared by
both sides:

| feature          | type      | content                                        |
|------------------|-----------|------------------------------------------------|
| `source_id`      | int64[S]  | source pieces, then `</s>` (2); no `<s>`       |
| `source_padding` | float[S]  | zeros                                          |
| `source_word`    | bytes[S]  | the pieces, then `</s>`                        |
| `target_id`      | int64[T]  | `<s>` (1), then the target pieces; no `</s>`   |
| `target_label`   | int64[T]  | the target pieces, then `</s>` (2)             |
| `target_padding` | float[T]  | zeros                                          |
| `target_weight`  | float[T]  | ones                                           |
| `target_word`    | bytes[T]  | `<s>`, then the pieces                         |
| `natural_order`  | int64[1]  | 1                                              |

Nothing is dropped silently: pairs with a blank side, pairs longer than `--max_length`
and characters outside the vocabulary (encoded as `<unk>`) are counted and reported, with
the most frequent unknown characters. Progress goes to stderr every `--progress_every`
lines.

Usage:

    python -m lingvo.tasks.mt.tools.wpm_encode --source=train.en --target=train.de \
        --vocab=wpm-ende-2k.voc --out=train.tfrecords --max_length=75

The records are serialized here, without TensorFlow, so the tool starts in a fraction of
a second; `lingvo.core.tf_example.ReadExamples` reads them back.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import gzip
import itertools
import os
import struct
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

import numpy as np

from lingvo import ops

__all__ = [
    "EncodeFiles",
    "EncodePairs",
    "EncodeStats",
    "NormalizeText",
    "ReadLines",
    "ReadVocabPieces",
    "SerializeExample",
]

UNK_ID, SOS_ID, EOS_ID = 0, 1, 2
_CHUNK = 1024  # Lines encoded per call of the C++ encoder.

# ------------------------------------------------------------------------------ tf.Example


def _VarintSlow(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1  # Negative int64 values are 10-byte two's complement varints.
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


# Word-piece ids and lengths are small: a table makes serialization several times faster.
_SMALL_VARINTS = [_VarintSlow(i) for i in range(1 << 14)]


def _Varint(n: int) -> bytes:
    return _SMALL_VARINTS[n] if 0 <= n < 1 << 14 else _VarintSlow(n)


def _LengthDelimited(field: int, payload: bytes) -> bytes:
    return _Varint(field << 3 | 2) + _Varint(len(payload)) + payload


def _FeatureBytes(value: Any) -> bytes:
    """A serialized `tf.train.Feature`: int64_list (3), float_list (2) or bytes_list (1)."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        packed = struct.pack(f"<{value.size}f", *value.tolist())
        return _LengthDelimited(2, _LengthDelimited(1, packed) if value.size else b"")
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        packed = b"".join(map(_Varint, value.tolist()))
        return _LengthDelimited(3, _LengthDelimited(1, packed) if value.size else b"")
    items = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in value]
    return _LengthDelimited(1, b"".join(_LengthDelimited(1, v) for v in items))


def SerializeExample(features: Mapping[str, Any]) -> bytes:
    """Serializes a `tf.train.Example` without TensorFlow.

    Args:
      features: Name -> a numpy int array (int64_list), a numpy float array (float_list,
        stored as float32) or a sequence of str/bytes (bytes_list). Names are written in
        sorted order, so equal inputs give equal bytes.

    Returns:
      The wire-format bytes, which `tf.train.Example.FromString` parses.
    """
    entries = b"".join(
        _LengthDelimited(
            1,
            _LengthDelimited(1, name.encode("utf-8"))
            + _LengthDelimited(2, _FeatureBytes(features[name])),
        )
        for name in sorted(features)
    )
    return _LengthDelimited(1, entries)


# ------------------------------------------------------------------------------ text


def NormalizeText(line: str) -> str:
    """NFC-normalizes a line and collapses its whitespace.

    NFC matters because a decomposed "ö" (o + combining diaeresis) would otherwise become
    "o" followed by an unknown character; the whitespace change does not alter the pieces,
    since the encoder splits on whitespace anyway.
    """
    return " ".join(unicodedata.normalize("NFC", line).split())


def ReadLines(path: str) -> Iterator[str]:
    """Yields the lines of a UTF-8 text file (gzip when the name ends in `.gz`), no newline.

    Raises:
      FileNotFoundError: No such file.
      UnicodeDecodeError: The file is not UTF-8 (the message names the byte offset).
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as f:
        for line in f:
            yield line.rstrip("\r\n")


def ReadVocabPieces(path: str) -> list[str]:
    """The pieces of a word-piece vocabulary file: line i is the piece of id i.

    Anything after a TAB on a line (a score) is ignored, as the encoder ignores it.
    """
    with open(path, encoding="utf-8", newline="\n") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.split("\t", 1)[0] for line in lines]


# ------------------------------------------------------------------------------ encoding


@dataclasses.dataclass
class EncodeStats:
    """What an encoding run read, wrote and dropped.

    Attributes:
      lines: Sentence pairs read.
      written: Records written.
      empty: Pairs dropped because the source or the target is blank.
      too_long: Pairs dropped because `source_id` or `target_id` exceeds `max_length`.
      too_long_source: Of `too_long`, pairs whose source is too long.
      too_long_target: Of `too_long`, pairs whose target is too long.
      unk_pieces: `<unk>` ids in the records written (one per unknown character).
      unk_lines: Written pairs with at least one `<unk>`.
      unknown_chars: Unknown character -> occurrences, over the records written.
      source_tokens: `source_id` values written (with `</s>`).
      target_tokens: `target_id` values written (with `<s>`).
      seconds: Wall time of the run.
    """

    lines: int = 0
    written: int = 0
    empty: int = 0
    too_long: int = 0
    too_long_source: int = 0
    too_long_target: int = 0
    unk_pieces: int = 0
    unk_lines: int = 0
    unknown_chars: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    source_tokens: int = 0
    target_tokens: int = 0
    seconds: float = 0.0

    def Summary(self, name: str = "wpm_encode") -> str:
        """A multi-line human-readable report."""
        rate = self.written / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{name}: {self.lines} pairs read, {self.written} records written "
            f"({rate:.0f} records/s, {self.seconds:.1f} s)",
            f"{name}: dropped {self.empty} pairs with an empty side",
            f"{name}: dropped {self.too_long} pairs over the maximum length "
            f"({self.too_long_source} source, {self.too_long_target} target)",
            f"{name}: {self.unk_pieces} unknown characters mapped to <unk> "
            f"in {self.unk_lines} pairs",
        ]
        if self.unknown_chars:
            common = ", ".join(
                f"{ch!r} (U+{ord(ch):04X}) x{n}" for ch, n in self.unknown_chars.most_common(10)
            )
            lines.append(f"{name}: most frequent unknown characters: {common}")
        if self.written:
            lines.append(
                f"{name}: mean length {self.source_tokens / self.written:.1f} source, "
                f"{self.target_tokens / self.written:.1f} target ids"
            )
        return "\n".join(lines)


class _Encoder:
    """Encodes lines with a `WordPieceModel` and finds the characters it mapped to `<unk>`."""

    def __init__(self, vocab_path: str) -> None:
        self.wpm = ops.WordPieceModel(vocab_path)
        self.pieces = ReadVocabPieces(vocab_path)
        if len(self.pieces) != len(self.wpm):
            raise ValueError(
                f"{vocab_path}: read {len(self.pieces)} pieces but the encoder has "
                f"{len(self.wpm)}; is the file a word-piece vocabulary (one piece per line)?"
            )
        specials = (self.wpm.unk_id, self.wpm.sos_id, self.wpm.eos_id)
        if specials != (UNK_ID, SOS_ID, EOS_ID):
            raise ValueError(
                f"{vocab_path}: <unk>, <s>, </s> have ids {specials}; NMT records need 0, 1, 2"
            )
        # The encoder looks each character up as a piece of its own before merging, so a
        # character is unknown exactly when it is not a one-character piece.
        self.known_chars = {p for p in self.pieces if len(p) == 1}

    def Encode(self, lines: Sequence[str]) -> list[np.ndarray]:
        return self.wpm.encode_batch(list(lines))

    def UnknownChars(self, line: str) -> Iterator[str]:
        return (c for c in line if not c.isspace() and c not in self.known_chars)


def _Progress(stats: EncodeStats, start: float, stream: IO[str], name: str) -> None:
    elapsed = max(time.time() - start, 1e-9)
    print(
        f"{name}: {stats.lines} lines, {stats.written} records, "
        f"{stats.written / elapsed:.0f} records/s, dropped {stats.empty} empty "
        f"and {stats.too_long} too long",
        file=stream,
        flush=True,
    )


def EncodePairs(
    pairs: Iterable[tuple[str, str]],
    vocab_path: str,
    out_path: str,
    max_length: int = 0,
    progress_every: int = 10000,
    progress_stream: IO[str] | None = None,
    name: str = "wpm_encode",
) -> EncodeStats:
    """Encodes (source, target) text pairs and writes one NMT record per kept pair.

    Args:
      pairs: The sentence pairs, in the order to write them.
      vocab_path: The word-piece vocabulary (`<unk>`, `<s>`, `</s>` on lines 0-2).
      out_path: The TFRecord file to write (its directory is created).
      max_length: If > 0, pairs whose `source_id` (pieces + `</s>`) or `target_id`
        (`<s>` + pieces) is longer are dropped and counted.
      progress_every: Print progress to `progress_stream` every this many pairs (0: never).
      progress_stream: Where progress goes; None: stderr.
      name: The prefix of the progress lines.

    Returns:
      The counts of the run.
    """
    stream = sys.stderr if progress_stream is None else progress_stream
    encoder = _Encoder(vocab_path)
    stats = EncodeStats()
    start = time.time()
    out_dir = os.path.dirname(out_path)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    pieces = encoder.pieces
    zeros_f = np.zeros
    it = iter(pairs)
    with ops.TFRecordWriter(out_path) as writer:
        while True:
            chunk = list(itertools.islice(it, _CHUNK))
            if not chunk:
                break
            srcs = [NormalizeText(s) for s, _ in chunk]
            tgts = [NormalizeText(t) for _, t in chunk]
            src_ids_list = encoder.Encode(srcs)
            tgt_ids_list = encoder.Encode(tgts)
            for src, tgt, src_ids, tgt_ids in zip(
                srcs, tgts, src_ids_list, tgt_ids_list, strict=True
            ):
                stats.lines += 1
                if not src or not tgt:
                    stats.empty += 1
                elif max_length > 0 and max(len(src_ids), len(tgt_ids)) + 1 > max_length:
                    stats.too_long += 1
                    stats.too_long_source += len(src_ids) + 1 > max_length
                    stats.too_long_target += len(tgt_ids) + 1 > max_length
                else:
                    s = np.append(src_ids, EOS_ID).astype(np.int64)
                    t_ids = np.concatenate([[SOS_ID], tgt_ids]).astype(np.int64)
                    t_lab = np.append(tgt_ids, EOS_ID).astype(np.int64)
                    src_words = [pieces[i] for i in src_ids.tolist()] + ["</s>"]
                    tgt_words = ["<s>"] + [pieces[i] for i in tgt_ids.tolist()]
                    writer.write(
                        SerializeExample(
                            {
                                "source_id": s,
                                "source_padding": zeros_f(len(s), np.float32),
                                "source_word": src_words,
                                "target_id": t_ids,
                                "target_label": t_lab,
                                "target_padding": zeros_f(len(t_ids), np.float32),
                                "target_weight": np.ones(len(t_ids), np.float32),
                                "target_word": tgt_words,
                                "natural_order": np.ones(1, np.int64),
                            }
                        )
                    )
                    stats.written += 1
                    stats.source_tokens += len(s)
                    stats.target_tokens += len(t_ids)
                    n_unk = int(np.count_nonzero(src_ids == UNK_ID)) + int(
                        np.count_nonzero(tgt_ids == UNK_ID)
                    )
                    if n_unk:
                        stats.unk_pieces += n_unk
                        stats.unk_lines += 1
                        stats.unknown_chars.update(encoder.UnknownChars(src))
                        stats.unknown_chars.update(encoder.UnknownChars(tgt))
                if progress_every and stats.lines % progress_every == 0:
                    _Progress(stats, start, stream, name)
    stats.seconds = time.time() - start
    return stats


def _ZipLines(source: str, target: str) -> Iterator[tuple[str, str]]:
    """Pairs the lines of two files; raises when one file has more lines than the other."""
    missing = object()
    for n, (s, t) in enumerate(
        itertools.zip_longest(ReadLines(source), ReadLines(target), fillvalue=missing), 1
    ):
        if s is missing or t is missing:
            short, long_ = (source, target) if s is missing else (target, source)
            raise ValueError(
                f"{short} has {n - 1} lines but {long_} has more: parallel files must have "
                "the same number of lines"
            )
        yield s, t


def EncodeFiles(
    source: str,
    target: str,
    vocab_path: str,
    out_path: str,
    max_length: int = 0,
    progress_every: int = 10000,
    progress_stream: IO[str] | None = None,
    name: str = "wpm_encode",
) -> EncodeStats:
    """Encodes two parallel text files (plain or `.gz`, one sentence per line).

    Args:
      source: The source-language file.
      target: The target-language file, line-aligned with `source`.
      vocab_path: The word-piece vocabulary.
      out_path: The TFRecord file to write.
      max_length: See `EncodePairs`.
      progress_every: See `EncodePairs`.
      progress_stream: See `EncodePairs`.
      name: See `EncodePairs`.

    Returns:
      The counts of the run.

    Raises:
      ValueError: The files have different numbers of lines (nothing past the shorter one
        is written), or the vocabulary is not a word-piece vocabulary.
    """
    return EncodePairs(
        _ZipLines(source, target),
        vocab_path,
        out_path,
        max_length=max_length,
        progress_every=progress_every,
        progress_stream=progress_stream,
        name=name,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.mt.tools.wpm_encode",
        description="Word-piece encodes parallel text into NMT tf.Example TFRecords.",
    )
    parser.add_argument("--source", required=True, help="Source text, one sentence a line.")
    parser.add_argument("--target", required=True, help="Target text, line-aligned.")
    parser.add_argument("--vocab", required=True, help="Word-piece vocabulary file.")
    parser.add_argument("--out", required=True, help="Output TFRecord file.")
    parser.add_argument(
        "--max_length",
        type=int,
        default=0,
        help="Drop (and count) pairs whose source_id or target_id is longer; 0: no limit.",
    )
    parser.add_argument(
        "--progress_every", type=int, default=10000, help="Progress every N lines; 0: none."
    )
    args = parser.parse_args(argv)
    for path in (args.source, args.target, args.vocab):
        if not os.path.isfile(path):
            parser.error(f"no such file: {path}")
    try:
        stats = EncodeFiles(
            args.source,
            args.target,
            args.vocab,
            args.out,
            max_length=args.max_length,
            progress_every=args.progress_every,
        )
    except ValueError as e:
        print(f"wpm_encode: error: {e}", file=sys.stderr)
        return 1
    print(stats.Summary(), file=sys.stderr)
    print(f"wpm_encode: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
