"""The MT decoder's structured output: one JSON object per decoded sentence.

The decoder job writes Lingvo's `decoder_out_<step>` (pickled `(source, "src: ... hyp0: ...
score0: ...")` pairs, kept for compatibility) and, beside it, `decoder_out_<step>.jsonl`, one
line per source, so that tools read sources, references and hypotheses without parsing the
summary strings:

    {"source": "A man runs.", "reference": "Ein Mann rennt.",
     "hyps": ["Ein Mann rennt.", ...], "scores": [-1.52, ...],
     "source_pieces": "▁A ▁man ▁runs .", "reference_pieces": "...", "hyp_pieces": [...]}

`source`, `reference` and `hyps` are unsegmented (word pieces joined, `▁` made a space) the
way the corpus BLEU unsegments them; the `*_pieces` fields are the tokenizer's strings.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence

__all__ = ["DecodedSentence", "JsonLinesPath", "ReadJsonLines", "Unsegment", "WriteJsonLines"]

SUFFIX = ".jsonl"


def Unsegment(text: str, separator_type: str | None) -> str:
    """Turns the tokenizer's string back into text.

    Args:
      text: Pieces joined by spaces (`wpm`/`spm`), BPE with `@@ ` continuations (`bpe`), or
        plain words (None).
      separator_type: 'wpm', 'spm', 'bpe' or None.

    Raises:
      ValueError: An unknown separator type.
    """
    if separator_type in ("wpm", "spm"):
        return "".join(text.split(" ")).replace("\u2581", " ").strip()
    if separator_type == "bpe":
        return text.replace("@@ ", "").replace("@@", "").strip()
    if separator_type is None:
        return text.strip()
    raise ValueError(f"unknown separator_type {separator_type!r}: 'wpm', 'spm', 'bpe' or None")


@dataclasses.dataclass
class DecodedSentence:
    """One source's beam-search result, best hypothesis first."""

    source: str
    reference: str
    hyps: list[str]
    scores: list[float]
    source_pieces: str
    reference_pieces: str
    hyp_pieces: list[str]

    @classmethod
    def FromPieces(
        cls,
        source: str,
        reference: str,
        hyps: Sequence[str],
        scores: Sequence[float],
        separator_type: str | None,
    ) -> DecodedSentence:
        """Builds the record from the tokenizer's strings."""
        return cls(
            source=Unsegment(source, separator_type),
            reference=Unsegment(reference, separator_type),
            hyps=[Unsegment(h, separator_type) for h in hyps],
            scores=[float(s) for s in scores],
            source_pieces=source,
            reference_pieces=reference,
            hyp_pieces=list(hyps),
        )


def JsonLinesPath(decode_out_path: str) -> str:
    """`.../decoder_out_000001000` -> `.../decoder_out_000001000.jsonl`."""
    return decode_out_path + SUFFIX


def WriteJsonLines(path: str, records: Iterable[DecodedSentence]) -> int:
    """Writes one JSON object a line (UTF-8, not ASCII-escaped); returns the count."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(dataclasses.asdict(record), ensure_ascii=False) + "\n")
            n += 1
    return n


def ReadJsonLines(path: str) -> list[DecodedSentence]:
    """Reads what `WriteJsonLines` wrote.

    Raises:
      ValueError: A line that is not one of these records; the message names the line.
    """
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(DecodedSentence(**json.loads(line)))
            except (json.JSONDecodeError, TypeError) as e:
                raise ValueError(f"{path}:{i}: not a decoded-sentence record ({e})") from None
    return out
