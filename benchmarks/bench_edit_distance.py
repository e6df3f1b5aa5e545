"""Benchmark `edit_distance`: corpus WER of 10,000 sentence pairs, ours vs a pure-Python DP.

The reference is the textbook Levenshtein dynamic programme in Python, counting
substitutions, insertions and deletions (with Lingvo's tie-breaking), as Lingvo's ASR
metrics computed WER. Both run here, alternating rounds; the results must be equal. Usage
(what `nox -s bench -- edit_distance` runs; `--reference-python` is accepted and unused):
  python bench_edit_distance.py --out bench-results/edit_distance.json
"""

from __future__ import annotations

import argparse
import pathlib
import random
import time

import _report

from lingvo import ops

REFERENCE = "pure-Python DP"


def make_pairs(n: int, words: int, edit_rate: float, seed: int) -> tuple[list[str], list[str]]:
    """`n` (hyp, ref) pairs of about `words` words, the hyp edited at about `edit_rate`."""
    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(5000)]
    hyps, refs = [], []
    for _ in range(n):
        ref = [rng.choice(vocab) for _ in range(rng.randint(words - 5, words + 5))]
        hyp = []
        for word in ref:
            u = rng.random()
            if u < edit_rate / 3:
                hyp.append(rng.choice(vocab))  # substitution
            elif u < 2 * edit_rate / 3:
                pass  # deletion
            elif u < edit_rate:
                hyp += [word, rng.choice(vocab)]  # insertion
            else:
                hyp.append(word)
        hyps.append(" ".join(hyp))
        refs.append(" ".join(ref))
    return hyps, refs


def python_counts(hyp: list[str], ref: list[str]) -> tuple[int, int, int]:
    """(substitutions, insertions, deletions) of a minimum-cost alignment."""
    prev = [(j, 0, j, 0) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, 0, i)]
        r = ref[i - 1]
        for j in range(1, len(hyp) + 1):
            differ = r != hyp[j - 1]
            sub = prev[j - 1][0] + differ
            ins = cur[j - 1][0] + 1
            dele = prev[j][0] + 1
            if sub < ins and sub < dele:
                _, s, n, d = prev[j - 1]
                cur.append((sub, s + differ, n, d))
            elif dele < ins:
                _, s, n, d = prev[j]
                cur.append((dele, s, n, d + 1))
            else:
                _, s, n, d = cur[j - 1]
                cur.append((ins, s, n + 1, d))
        prev = cur
    _, s, n, d = prev[-1]
    return s, n, d


def wer_python(hyps: list[str], refs: list[str]) -> tuple[float, list[tuple[int, int, int]]]:
    counts = [python_counts(h.split(), r.split()) for h, r in zip(hyps, refs, strict=True)]
    words = sum(len(r.split()) for r in refs)
    return sum(map(sum, counts)) / words, counts


def wer_ours(hyps: list[str], refs: list[str]) -> tuple[float, list[tuple[int, int, int]]]:
    c = ops.edit_distance(hyps, refs)
    wer = float(c.errors.sum() / c.ref_lengths.sum())
    return wer, list(
        zip(c.substitutions.tolist(), c.insertions.tolist(), c.deletions.tolist(), strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", help="Accepted for `nox -s bench`; unused.")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per side.")
    args = parser.parse_args()

    hyps, refs = make_pairs(args.pairs, words=20, edit_rate=0.1, seed=17)
    times = {"ours": [], "python": []}
    results = {}
    for round_ in range(args.rounds):
        for impl, fn in (("ours", wer_ours), ("python", wer_python)):
            start = time.perf_counter()
            results[impl] = fn(hyps, refs)
            times[impl].append(time.perf_counter() - start)
            print(f"round {round_ + 1}/{args.rounds} {impl}: {times[impl][-1]:.4f} s", flush=True)
        if results["ours"] != results["python"]:
            raise SystemExit("edit_distance and the Python DP disagree")
    ours_s = _report.median(times["ours"])
    python_s = _report.median(times["python"])
    rows = [
        _report.row("wer_seconds", "s", ours_s, REFERENCE, python_s),
        _report.row(
            "pairs_per_second",
            "pairs/s",
            args.pairs / ours_s,
            REFERENCE,
            args.pairs / python_s,
            lower_is_better=False,
        ),
    ]
    config = {
        "pairs": args.pairs,
        "words_per_ref": 20,
        "edit_rate": 0.1,
        "rounds": args.rounds,
        "wer": round(results["ours"][0], 6),
        "results_equal": True,
    }
    _report.write("edit_distance", config, rows, args.out)


if __name__ == "__main__":
    main()
