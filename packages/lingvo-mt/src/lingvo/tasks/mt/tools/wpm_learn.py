"""Learns a small word-piece vocabulary from text by byte-pair-style merges.

The output has the layout of Lingvo's `wpm-ende-2k.voc`, which `lingvo.ops.WordPieceModel`
reads: one piece per line, the line number is the id, lines 0-3 are `<unk>`, `<s>`,
`</s>` and the word-start mark `▁` (U+2581), then single characters (most frequent first),
then merged pieces in the order they were learned. The encoder merges the adjacent pair
whose merged piece has the smallest id first, so learning order is merge priority, as in
the shipped vocabularies.

Usage:

    python -m lingvo.tasks.mt.tools.wpm_learn --input=train.en,train.de \
        --vocab_size=2000 --out=wpm-learned.voc
"""

from __future__ import annotations

import argparse
import collections
import heapq
import itertools
import re
import sys
from collections.abc import Iterable, Sequence
from typing import IO

from lingvo.tasks.mt.tools import wpm_encode

__all__ = ["SPECIALS", "WORD_START", "LearnVocab", "WriteVocab"]

WORD_START = "\u2581"
SPECIALS = ("<unk>", "<s>", "</s>", WORD_START)
# The encoder splits words on ASCII whitespace only, so the learner must too.
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def _WordCounts(lines: Iterable[str]) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for line in lines:
        counts.update(w for w in _ASCII_SPACE.split(wpm_encode.NormalizeText(line)) if w)
    return counts


def LearnVocab(
    lines: Iterable[str],
    vocab_size: int = 2000,
    min_count: int = 2,
    progress_every: int = 500,
    progress_stream: IO[str] | None = None,
) -> list[str]:
    """Learns word pieces from text.

    Every character seen is a piece (the most frequent ones if the vocabulary cannot hold
    them all); then the most frequent adjacent pair of pieces inside words is merged,
    repeatedly, until `vocab_size` pieces or no pair occurs `min_count` times. Ties go to
    the lexicographically smallest pair, so the result depends only on the text.

    Args:
      lines: The training text (both languages, for a shared vocabulary).
      vocab_size: The number of pieces, specials included.
      min_count: The fewest occurrences of a pair worth merging.
      progress_every: Print progress to `progress_stream` every this many merges (0: never).
      progress_stream: Where progress goes; None: stderr.

    Returns:
      The pieces, id order.

    Raises:
      ValueError: `vocab_size` cannot hold the specials, or the text has no words.
    """
    if vocab_size <= len(SPECIALS):
        raise ValueError(f"vocab_size must exceed {len(SPECIALS)} (the specials), got {vocab_size}")
    stream = sys.stderr if progress_stream is None else progress_stream
    word_counts = _WordCounts(lines)
    if not word_counts:
        raise ValueError("LearnVocab: the text has no words")
    char_counts: collections.Counter = collections.Counter()
    for word, n in word_counts.items():
        for c in word:
            char_counts[c] += n
    char_counts.pop(WORD_START, None)
    chars = sorted(char_counts, key=lambda c: (-char_counts[c], c))
    room = vocab_size - len(SPECIALS)
    if len(chars) > room:
        print(
            f"wpm_learn: {len(chars) - room} rare characters do not fit in {vocab_size} "
            "pieces and will be <unk>",
            file=stream,
        )
        chars = chars[:room]
    pieces = list(SPECIALS) + chars
    known = set(pieces)

    # Words as lists of symbols; a symbol outside the vocabulary blocks merges across it.
    words = [[WORD_START, *list(w)] for w in word_counts]
    freqs = list(word_counts.values())
    pair_counts: collections.Counter = collections.Counter()
    where: dict[tuple[str, str], set[int]] = collections.defaultdict(set)

    def Pairs(symbols: list[str]) -> Iterable[tuple[str, str]]:
        return ((a, b) for a, b in itertools.pairwise(symbols) if a in known and b in known)

    for i, symbols in enumerate(words):
        for pair in Pairs(symbols):
            pair_counts[pair] += freqs[i]
            where[pair].add(i)
    # A max-heap of (-count, pair) with lazy deletion: stale entries are skipped on pop.
    heap = [(-n, pair) for pair, n in pair_counts.items()]
    heapq.heapify(heap)
    merges = 0
    while len(pieces) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg:
            continue
        if -neg < min_count:
            break
        a, b = pair
        merged = a + b
        # Two merges can spell the same piece ("ab"+"c", "a"+"bc"): keep its first id.
        if merged not in known:
            pieces.append(merged)
            known.add(merged)
        touched: collections.Counter = collections.Counter()
        for i in sorted(where.pop(pair, ())):
            symbols, f = words[i], freqs[i]
            for p in Pairs(symbols):
                pair_counts[p] -= f
                touched[p] += 1
            out, j = [], 0
            while j < len(symbols):
                if j + 1 < len(symbols) and symbols[j] == a and symbols[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(symbols[j])
                    j += 1
            words[i] = out
            for p in Pairs(out):
                pair_counts[p] += f
                where[p].add(i)
                touched[p] += 1
        for p in touched:
            if pair_counts[p] > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
            else:
                pair_counts.pop(p, None)
        pair_counts.pop(pair, None)
        merges += 1
        if progress_every and merges % progress_every == 0:
            print(f"wpm_learn: {merges} merges, {len(pieces)} pieces", file=stream, flush=True)
    return pieces


def WriteVocab(path: str, pieces: Sequence[str]) -> None:
    """Writes pieces one per line, UTF-8, in id order."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(p + "\n" for p in pieces)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.mt.tools.wpm_learn",
        description="Learns a word-piece vocabulary (Lingvo's .voc layout) from text files.",
    )
    parser.add_argument("--input", required=True, help="Comma-separated text files (plain or .gz).")
    parser.add_argument("--out", required=True, help="The vocabulary file to write.")
    parser.add_argument("--vocab_size", type=int, default=2000, help="Pieces, specials included.")
    parser.add_argument("--min_count", type=int, default=2, help="Fewest pair occurrences.")
    args = parser.parse_args(argv)
    paths = [p for p in args.input.split(",") if p]

    def Lines() -> Iterable[str]:
        for path in paths:
            yield from wpm_encode.ReadLines(path)

    try:
        pieces = LearnVocab(Lines(), args.vocab_size, args.min_count)
    except (ValueError, OSError) as e:
        print(f"wpm_learn: error: {e}", file=sys.stderr)
        return 1
    WriteVocab(args.out, pieces)
    print(f"wpm_learn: wrote {len(pieces)} pieces to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
