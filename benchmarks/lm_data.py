"""The corpus of the `lm_rnn` and `lm_transformer` benchmarks: Multi30k's English side.

`Prepare(folder)` writes `train.txt` and `val.txt` (lower-cased, punctuation split off the
words, one sentence per line) from the shared `train.en.gz` and `val.en.gz`, and
`vocab.txt` with our `lingvo.tasks.lm.tools.vocab` (lm1b layout, words seen at least
twice). Both sides of the benchmarks read these same files.
"""

from __future__ import annotations

import gzip
import pathlib
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "multi30k"
# A word (letters, digits, inner apostrophes) or a single punctuation character.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]|_")


def Normalize(line: str) -> str:
    """Lower-cases `line` and splits punctuation off the words."""
    return " ".join(_TOKEN.findall(line.lower()))


def _Convert(src: pathlib.Path, dst: pathlib.Path) -> tuple[int, int]:
    lines = words = 0
    with gzip.open(src, "rt", encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            text = Normalize(line)
            lines += 1
            words += len(text.split())
            out.write(text + "\n")
    return lines, words


def Prepare(folder: pathlib.Path, source: pathlib.Path = SHARED) -> dict:
    """Writes the corpus into `folder`; returns its sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for split, name in (("train", "train.en.gz"), ("val", "val.en.gz")):
        lines, words = _Convert(source / name, folder / f"{split}.txt")
        sizes[f"{split}_sentences"], sizes[f"{split}_words"] = lines, words
    cmd = [
        sys.executable,
        "-m",
        "lingvo.tasks.lm.tools.vocab",
        f"--input={folder / 'train.txt'}",
        f"--output={folder / 'vocab.txt'}",
        "--min_count=2",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    with open(folder / "vocab.txt", encoding="utf-8") as f:
        sizes["vocab_size"] = sum(1 for _ in f)
    return sizes
