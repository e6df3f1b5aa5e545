"""The Multi30k (WMT'16 multimodal task 1) English-German recipe for `WmtCaptionEnDeTransformer`.

From the raw captions `{train,val,test_2016_flickr}.{en,de}.gz` (downloaded from the
Multi30k repository, or read from a local copy with `--from`) to what the experiment
`mt.wmtm16_en_de.WmtCaptionEnDeTransformer` reads from its data directory:

    <out>/train.tfrecords   29,000 pairs (pairs over --max_length dropped and counted)
    <out>/val.tfrecords      1,014 pairs (dev; nothing dropped)
    <out>/test.tfrecords     1,000 pairs (test_2016_flickr; nothing dropped)
    <out>/wpm-ende-2k.voc    the word-piece vocabulary the records use
    <out>/{train,val,test}.{en,de}   the normalized text, e.g. references for sacreBLEU

Tokenisation: Unicode NFC, whitespace clean-up, and the escaping of Moses' tokenizer for
`&`, `'` and `"` (`&amp;`, `&apos;`, `&quot;`), with curly quotes and dashes straightened
first. No lowercasing and no splitting of punctuation: the vocabulary is cased and has a
piece for each punctuation mark (the encoder splits "bushes." into "▁bus", "hes", ".").
The escaping is needed because `wpm-ende-2k.voc` was learned on Moses-escaped WMT text: it
has the pieces `▁&quot;` and `▁&apos;s` but no ASCII quote character at all, so raw quotes
(about 1,300 in the training text) would all be `<unk>` and could never be produced.
`UnescapeText` undoes it on translations (the translate command applies it), and BLEU is
computed on that output against the unescaped references `<out>/test.de`.

Vocabulary: Lingvo's `wpm-ende-2k.voc` (2,000 pieces learned on WMT'14 En-De), the one
`WmtCaptionEnDeTransformer` names: its decoder turns ids back into text through that file,
so records made with any other vocabulary would decode to the wrong words, and runs stay
comparable with Lingvo's. `--learn_vocab` learns a 2,000-piece vocabulary from the training
text instead (written as `wpm-learned.voc`; point the experiment's vocabulary at it).

Usage:

    python -m lingvo.tasks.mt.tools.multi30k --out=/tmp/wmtm16/wpm             # download
    python -m lingvo.tasks.mt.tools.multi30k --from=../shared/data/multi30k --out=/tmp/wmtm16/wpm
"""

from __future__ import annotations

import argparse
import importlib.resources
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from typing import IO

from lingvo.tasks.mt.tools import wpm_encode, wpm_learn

__all__ = ["RAW_FILES", "SPLITS", "Download", "EscapeText", "FindVocab", "Prepare", "UnescapeText"]

# Output split name -> raw file stem.
SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}
RAW_FILES = tuple(f"{stem}.{lang}.gz" for stem in SPLITS.values() for lang in ("en", "de"))
BASE_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
VOCAB_NAME = "wpm-ende-2k.voc"
VOCAB_URL = (
    "https://raw.githubusercontent.com/tensorflow/lingvo/master/lingvo/tasks/mt/" + VOCAB_NAME
)
LEARNED_VOCAB_NAME = "wpm-learned.voc"
# The largest training bucket of WmtCaptionEnDeTransformer: longer pairs would be dropped
# by the batcher anyway; dropping them here counts them.
TRAIN_MAX_LENGTH = 75


# Typographic variants first, so that every quote ends up as one of the escaped forms.
_STRAIGHTEN = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2018": "'",
        "\u2019": "'",
        "`": "'",
        "\u2013": "-",
        "\u2014": "-",
    }
)
_ESCAPES = (("&", "&amp;"), ("'", "&apos;"), ('"', "&quot;"))


def StraightenText(line: str) -> str:
    """NFC, whitespace clean-up, curly quotes and dashes made ASCII: the reference text."""
    return wpm_encode.NormalizeText(line).translate(_STRAIGHTEN)


def EscapeText(line: str) -> str:
    """`StraightenText`, then Moses' escapes for `&`, `'` and `"`: the text that is encoded."""
    line = StraightenText(line)
    for raw, escaped in _ESCAPES:
        line = line.replace(raw, escaped)
    return line


def UnescapeText(line: str) -> str:
    """Undoes `EscapeText`'s escapes (not its straightening) on a translation."""
    for raw, escaped in reversed(_ESCAPES):
        line = line.replace(escaped, raw)
    return line


def _Fetch(url: str, path: str, stream: IO[str]) -> None:
    """Downloads `url` to `path` through a temporary file, so a failed download leaves none."""
    print(f"multi30k: downloading {url}", file=stream, flush=True)
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def Download(raw_dir: str, stream: IO[str] | None = None, base_url: str = BASE_URL) -> str:
    """Downloads the raw Multi30k files into `raw_dir` (skipping those already there).

    Returns:
      `raw_dir`.
    """
    stream = sys.stderr if stream is None else stream
    os.makedirs(raw_dir, exist_ok=True)
    for name in RAW_FILES:
        path = os.path.join(raw_dir, name)
        if not os.path.exists(path):
            _Fetch(base_url + name, path, stream)
    return raw_dir


def FindVocab(out_dir: str, stream: IO[str] | None = None) -> str:
    """The path of `wpm-ende-2k.voc`: the copy shipped in `lingvo.tasks.mt`, else downloaded.

    Raises:
      OSError: Not shipped and the download failed.
    """
    shipped = importlib.resources.files("lingvo.tasks.mt").joinpath(VOCAB_NAME)
    if shipped.is_file():
        return str(shipped)
    path = os.path.join(out_dir, VOCAB_NAME)
    if not os.path.exists(path):
        _Fetch(VOCAB_URL, path, sys.stderr if stream is None else stream)
    return path


def Prepare(
    raw_dir: str,
    out_dir: str,
    vocab: str | None = None,
    learn_vocab: bool = False,
    train_max_length: int = TRAIN_MAX_LENGTH,
    progress_every: int = 10000,
    stream: IO[str] | None = None,
) -> dict[str, wpm_encode.EncodeStats]:
    """Turns the raw files of `raw_dir` into the TFRecords, vocabulary and text of `out_dir`.

    Args:
      raw_dir: Holds `RAW_FILES`.
      out_dir: The data directory to fill.
      vocab: A word-piece vocabulary to use; None: `FindVocab` (or learn one).
      learn_vocab: Learn a 2,000-piece vocabulary from the training text instead.
      train_max_length: Training pairs longer than this (ids with `<s>` / `</s>`) are
        dropped and counted; 0: none. Dev and test are never filtered, so BLEU covers
        every sentence.
      progress_every: Encoding progress every this many lines (0: none).
      stream: Where progress and the summaries go; None: stderr.

    Returns:
      Split name -> the encoding counts.

    Raises:
      FileNotFoundError: A raw file is missing (the message lists what is expected).
      ValueError: A pair of files is not line-aligned.
    """
    stream = sys.stderr if stream is None else stream
    missing = [n for n in RAW_FILES if not os.path.isfile(os.path.join(raw_dir, n))]
    if missing:
        raise FileNotFoundError(
            f"{raw_dir}: missing {', '.join(missing)} (expected {', '.join(RAW_FILES)})"
        )
    os.makedirs(out_dir, exist_ok=True)
    # The straightened text is written as the BLEU references; the escaped text is encoded.
    text: dict[str, list[str]] = {}
    for split, stem in SPLITS.items():
        for lang in ("en", "de"):
            lines = list(wpm_encode.ReadLines(os.path.join(raw_dir, f"{stem}.{lang}.gz")))
            with open(os.path.join(out_dir, f"{split}.{lang}"), "w", encoding="utf-8") as f:
                f.writelines(StraightenText(line) + "\n" for line in lines)
            text[f"{split}.{lang}"] = [EscapeText(line) for line in lines]
        if len(text[f"{split}.en"]) != len(text[f"{split}.de"]):
            raise ValueError(
                f"{raw_dir}: {stem}.en.gz has {len(text[f'{split}.en'])} lines but "
                f"{stem}.de.gz has {len(text[f'{split}.de'])}"
            )
    if learn_vocab:
        vocab_path = os.path.join(out_dir, LEARNED_VOCAB_NAME)
        pieces = wpm_learn.LearnVocab(
            text["train.en"] + text["train.de"], 2000, progress_stream=stream
        )
        wpm_learn.WriteVocab(vocab_path, pieces)
    else:
        vocab_path = os.path.join(out_dir, VOCAB_NAME)
        source = vocab or FindVocab(out_dir, stream)
        if os.path.abspath(source) != os.path.abspath(vocab_path):
            shutil.copyfile(source, vocab_path)
    print(f"multi30k: vocabulary {vocab_path}", file=stream)
    stats = {}
    for split in SPLITS:
        stats[split] = wpm_encode.EncodePairs(
            zip(text[f"{split}.en"], text[f"{split}.de"], strict=True),
            vocab_path,
            os.path.join(out_dir, f"{split}.tfrecords"),
            max_length=train_max_length if split == "train" else 0,
            progress_every=progress_every,
            progress_stream=stream,
            name=f"multi30k {split}",
        )
        print(stats[split].Summary(f"multi30k {split}"), file=stream, flush=True)
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.mt.tools.multi30k",
        description="Prepares Multi30k En-De TFRecords for WmtCaptionEnDeTransformer.",
    )
    parser.add_argument(
        "--from",
        dest="from_dir",
        default=None,
        help="A directory with the raw {train,val,test_2016_flickr}.{en,de}.gz; "
        "without it they are downloaded into <out>/raw.",
    )
    parser.add_argument("--out", default="/tmp/wmtm16/wpm", help="The data directory to write.")
    parser.add_argument("--vocab", default=None, help=f"The vocabulary (default: {VOCAB_NAME}).")
    parser.add_argument(
        "--learn_vocab", action="store_true", help="Learn a 2k vocabulary from the training text."
    )
    parser.add_argument(
        "--max_length",
        type=int,
        default=TRAIN_MAX_LENGTH,
        help="Drop (and count) training pairs with more ids; 0: no limit.",
    )
    args = parser.parse_args(argv)
    if args.vocab and args.learn_vocab:
        parser.error("--vocab and --learn_vocab exclude each other")
    try:
        raw_dir = args.from_dir or Download(os.path.join(args.out, "raw"))
        stats = Prepare(raw_dir, args.out, args.vocab, args.learn_vocab, args.max_length)
    except (OSError, ValueError) as e:
        print(f"multi30k: error: {e}", file=sys.stderr)
        return 1
    total = sum(s.written for s in stats.values())
    print(f"multi30k: wrote {total} records to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
