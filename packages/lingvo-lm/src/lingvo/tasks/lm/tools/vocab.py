"""Builds and checks word vocabularies in the lm1b layout (`token<TAB>id` lines).

The layout is `tools/download_lm1b.py`'s: `<epsilon>` 0, `<S>` 1, `</S>` 2, `<UNK>` 3, then
the words by descending count (ties alphabetical) that occur at least `min_count` times.
The sampled softmax's log-uniform sampler relies on that frequency order.

    python -m lingvo.tasks.lm.tools.vocab --input=train.txt --output=vocab.txt --min_count=3
"""

from __future__ import annotations

import argparse
import collections
import sys
from collections.abc import Iterable, Sequence

__all__ = ["SPECIAL_TOKENS", "BuildVocab", "CheckVocab", "CountWords", "WriteVocab", "main"]

SPECIAL_TOKENS = ("<epsilon>", "<S>", "</S>", "<UNK>")


def CountWords(lines: Iterable[str]) -> collections.Counter:
    """Counts the whitespace-separated words of `lines`."""
    counts: collections.Counter = collections.Counter()
    for line in lines:
        counts.update(line.split())
    return counts


def BuildVocab(counts: dict[str, int], min_count: int = 3) -> list[str]:
    """Returns the vocabulary: the four special tokens, then words by count.

    Args:
      counts: Word counts, e.g. from `CountWords`.
      min_count: Words seen fewer times are left out (they map to `<UNK>`).

    Returns:
      The tokens in id order.
    """
    words = [w for w, c in counts.items() if c >= min_count and w not in SPECIAL_TOKENS]
    words.sort(key=lambda w: (-counts[w], w))
    return [*SPECIAL_TOKENS, *words]


def WriteVocab(path: str, tokens: Sequence[str]) -> None:
    """Writes `token<TAB>id` lines, UTF-8."""
    with open(path, "w", encoding="utf-8") as f:
        for i, token in enumerate(tokens):
            f.write(f"{token}\t{i}\n")


def CheckVocab(path: str) -> list[str]:
    """Reads an lm1b-layout vocabulary and checks it.

    Returns:
      The tokens in id order.

    Raises:
      ValueError: The file is not UTF-8, a line is empty, a token repeats, an id is not the
        line number, or the four special tokens are not the first four lines; the message
        names the file and line.
    """
    tokens: list[str] = []
    seen: dict[str, int] = {}
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}:{number}: not UTF-8 ({e.reason})") from None
            fields = line.split("\t")
            token = fields[0]
            if not token:
                raise ValueError(f"{path}:{number}: empty token; expected 'token<TAB>id'")
            if token in seen:
                raise ValueError(
                    f"{path}:{number}: duplicate token {token!r}, first on line {seen[token]}"
                )
            if len(fields) > 1 and fields[1].strip() != str(number - 1):
                raise ValueError(
                    f"{path}:{number}: id {fields[1]!r} of {token!r}; expected {number - 1}"
                )
            seen[token] = number
            tokens.append(token)
    for i, special in enumerate(SPECIAL_TOKENS):
        if i >= len(tokens) or tokens[i] != special:
            got = repr(tokens[i]) if i < len(tokens) else "the end of the file"
            raise ValueError(
                f"{path}:{i + 1}: expected the special token {special!r}, got {got}; the "
                f"first four lines must be {', '.join(SPECIAL_TOKENS)}"
            )
    return tokens


def main(argv: Sequence[str] | None = None) -> int:
    """Builds `--output` from the text files `--input` (comma-separated)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="Comma-separated text files.")
    parser.add_argument("--output", required=True, help="The vocabulary file to write.")
    parser.add_argument("--min_count", type=int, default=3, help="The smallest word count kept.")
    args = parser.parse_args(argv)
    counts: collections.Counter = collections.Counter()
    for path in args.input.split(","):
        try:
            with open(path, encoding="utf-8") as f:
                counts.update(CountWords(f))
        except UnicodeDecodeError as e:
            print(f"vocab: error: {path} is not UTF-8 ({e.reason})", file=sys.stderr)
            return 1
    tokens = BuildVocab(counts, args.min_count)
    WriteVocab(args.output, tokens)
    print(f"vocab: wrote {len(tokens)} tokens to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
