"""Scores the sentences of a text file under a trained language model.

Usage:

    python -m lingvo.tasks.lm.tools.score --model=lm.one_billion_wds.WordLevelOneBwdsCpu \
        --logdir=/tmp/lm/logdir --input=sentences.txt [--output=scores.tsv] [--per_token]

Each non-empty line is tokenized by the model's input tokenizer (the `--dataset` input,
default `Test`) and scored with the task's `default` inference subgraph (Lingvo's
`Inference` outputs). The output is tab-separated, one row per scored line after a header:

    line  log_prob  tokens  oovs  perplexity  [log_pplx_per_token]  text

`log_prob` is the sentence's natural-log probability (the end of sentence included),
`tokens` the number of predicted tokens (words plus `</S>`, fewer when the line was cut to
`target_max_length`), `oovs` the tokens mapped to `<UNK>`, `perplexity`
`exp(-log_prob / tokens)`. Empty lines are skipped and counted; the totals (token and
word perplexity, the latter over words plus one `</S>` per sentence as the training
metric `log_pplx_per_word`) go to stderr. A file that is not UTF-8 is refused with the
line and byte where decoding failed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lingvo.tasks.lm.tools import restore, text

__all__ = ["Scorer", "SentenceScore", "Totals", "main"]


@dataclasses.dataclass
class SentenceScore:
    """The score of one line of the input."""

    line: int
    text: str
    log_prob: float
    num_tokens: int
    num_words: int
    num_oovs: int
    truncated: bool
    log_pplx_per_token: list[float]

    @property
    def perplexity(self) -> float:
        """`exp(-log_prob / num_tokens)`."""
        return math.exp(-self.log_prob / max(self.num_tokens, 1))


@dataclasses.dataclass
class Totals:
    """The corpus-level sums of a scoring run."""

    sentences: int = 0
    empty_lines: int = 0
    truncated: int = 0
    tokens: int = 0
    words: int = 0
    oovs: int = 0
    neg_log_prob: float = 0.0

    def Add(self, score: SentenceScore) -> None:
        self.sentences += 1
        self.truncated += int(score.truncated)
        self.tokens += score.num_tokens
        self.words += score.num_words
        self.oovs += score.num_oovs
        self.neg_log_prob -= score.log_prob

    @property
    def token_perplexity(self) -> float:
        return math.exp(self.neg_log_prob / max(self.tokens, 1))

    @property
    def word_perplexity(self) -> float:
        """Over the words plus one end of sentence per sentence (`log_pplx_per_word`)."""
        return math.exp(self.neg_log_prob / max(self.words + self.sentences, 1))


class Scorer:
    """Scores sentences in fixed-size batches with a `LanguageModel` task's inference.

    Args:
      task: A `lingvo.tasks.lm.model.LanguageModel` with its variables set.
      batch_size: Sentences scored together (the last batch is filled with empty rows so
        that one traced graph serves every batch).
    """

    def __init__(self, task: Any, batch_size: int = 32) -> None:
        import tensorflow as tf

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.task = task
        self.batch_size = batch_size
        self._eos = int(task.input_generator.params.tokenizer.target_eos_id)
        self._fn = tf.function(self._Score, autograph=False, reduce_retracing=True)

    def _Score(self, lines: Any) -> tuple[Any, Any, Any, Any]:
        gen = self.task.input_generator
        out = self.task.InferenceFn(lines)
        _, labels, _ = gen.StringsToIds(lines)
        # A row cut to target_max_length has no end of sentence among its labels.
        has_eos = self._HasEos(labels, out.lengths)
        return out.log_pplx_per_token, out.lengths, out.num_oovs_per_sample, has_eos

    def _HasEos(self, labels: Any, lengths: Any) -> Any:
        import tensorflow as tf

        last = tf.gather(labels, tf.maximum(lengths - 1, 0), axis=1, batch_dims=1)
        return tf.equal(last, self._eos)

    def ScoreBatch(self, lines: Sequence[str], numbers: Sequence[int]) -> list[SentenceScore]:
        """Scores up to `batch_size` non-empty lines; `numbers` are their line numbers."""
        import tensorflow as tf

        rows = list(lines) + [""] * (self.batch_size - len(lines))
        per_token, lengths, oovs, has_eos = self._fn(tf.constant(rows))
        per_token, lengths = np.asarray(per_token), np.asarray(lengths)
        oovs, has_eos = np.asarray(oovs), np.asarray(has_eos)
        out = []
        for i, (line, number) in enumerate(zip(lines, numbers, strict=True)):
            n = int(lengths[i])
            costs = [float(x) for x in per_token[i, :n]]
            out.append(
                SentenceScore(
                    line=number,
                    text=line,
                    log_prob=-float(np.sum(per_token[i, :n], dtype=np.float64)),
                    num_tokens=n,
                    num_words=len(line.split()),
                    num_oovs=int(oovs[i]),
                    truncated=not bool(has_eos[i]),
                    log_pplx_per_token=costs,
                )
            )
        return out

    def Score(self, lines: Iterable[str], totals: Totals | None = None) -> Iterable[SentenceScore]:
        """Scores the non-empty lines in order (line numbers from 1); counts the empty ones.

        Yields:
          One `SentenceScore` per non-empty line.
        """
        totals = Totals() if totals is None else totals
        pending: list[tuple[int, str]] = []

        def Flush() -> list[SentenceScore]:
            scores = self.ScoreBatch([t for _, t in pending], [n for n, _ in pending])
            pending.clear()
            for s in scores:
                totals.Add(s)
            return scores

        for number, line in enumerate(lines, start=1):
            line = " ".join(line.split())
            if not line:
                totals.empty_lines += 1
                continue
            pending.append((number, line))
            if len(pending) == self.batch_size:
                yield from Flush()
        if pending:
            yield from Flush()


HEADER = ("line", "log_prob", "tokens", "oovs", "perplexity")


def FormatRow(score: SentenceScore, per_token: bool = False) -> str:
    """The output row of one sentence (tab-separated, see the module docstring)."""
    fields = [
        str(score.line),
        f"{score.log_prob:.6f}",
        str(score.num_tokens),
        str(score.num_oovs),
        f"{score.perplexity:.4f}",
    ]
    if per_token:
        fields.append(" ".join(f"{x:.4f}" for x in score.log_pplx_per_token))
    fields.append(score.text)
    return "\t".join(fields)


def _Parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.lm.tools.score",
        description="Per-sentence log-probability and perplexity under a trained LM.",
    )
    parser.add_argument("--model", required=True, help="Registry key of the experiment.")
    parser.add_argument("--logdir", default=None, help="The training run's logdir.")
    parser.add_argument("--checkpoint", default=None, help="A checkpoint instead of the newest.")
    parser.add_argument("--input", required=True, help="UTF-8 text, one sentence per line.")
    parser.add_argument("--output", default="-", help="Output file; '-' is stdout.")
    parser.add_argument("--batch_size", type=int, default=32, help="Sentences per batch.")
    parser.add_argument("--per_token", action="store_true", help="Add per-token costs.")
    parser.add_argument("--dataset", default="Test", help="Dataset whose input tokenizes.")
    parser.add_argument(
        "--model_params_override", default=None, help="Params overrides, as the trainer's."
    )
    return parser


def ParseArgs(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses and checks the command line (exits with a usage message on bad values)."""
    parser = _Parser()
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch_size must be at least 1, got {args.batch_size}")
    if not args.logdir and not args.checkpoint:
        parser.error("pass --logdir (its newest checkpoint is used) or --checkpoint")
    if not os.path.isfile(args.input):
        parser.error(f"--input: no such file: {args.input}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = ParseArgs(argv)
    try:
        lines = text.ReadUtf8Lines(args.input)  # before the model: a bad file fails fast
        checkpoint = args.checkpoint or restore.FindCheckpoint(args.logdir)
        params = restore.TaskParams(args.model, args.dataset, args.model_params_override)
        task, path, step = restore.RestoreTask(params, checkpoint=checkpoint)
    except (restore.NoCheckpointError, ValueError, LookupError) as e:
        print(f"score: error: {e}", file=sys.stderr)
        return 1
    print(f"score: restored {path} (step {step})", file=sys.stderr)
    scorer = Scorer(task, args.batch_size)
    totals = Totals()
    with contextlib.ExitStack() as files:
        dst = sys.stdout
        if args.output != "-":
            dst = files.enter_context(open(args.output, "w", encoding="utf-8"))
        header = list(HEADER) + (["log_pplx_per_token"] if args.per_token else []) + ["text"]
        dst.write("\t".join(header) + "\n")
        for score in scorer.Score(lines, totals):
            dst.write(FormatRow(score, args.per_token) + "\n")
    print(
        f"score: {totals.sentences} sentences, {totals.tokens} tokens, {totals.oovs} OOVs; "
        f"token perplexity {totals.token_perplexity:.3f}, word perplexity "
        f"{totals.word_perplexity:.3f}; {totals.empty_lines} empty lines skipped, "
        f"{totals.truncated} cut to the model's target_max_length",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
