"""Translates text with a trained MT model: the newest checkpoint of a logdir, beam search.

Usage:

    echo "The dog sees the cat." | python -m lingvo.tasks.mt.tools.translate \
        --model=mt.wmtm16_en_de.WmtCaptionEnDeTransformer --logdir=/tmp/mt/logdir
    python -m lingvo.tasks.mt.tools.translate --model=... --logdir=... \
        --input=test.en --output=test.hyp --beam_size=4 --n_best=2 --batch_size=32

Sentences are word-piece encoded with the vocabulary of the model's input (or `--vocab`),
beam-searched in batches, and the pieces joined back into text. A vocabulary learned on
Moses-escaped text (such as `wpm-ende-2k.voc`, see `multi30k`) gets the recipe's escaping
of the input and the unescaping of the output. With `--n_best=1` each input line gives
one output line (an empty line for an empty input line); with more, each gives
`n_best` lines `<line number>\\t<rank>\\t<score>\\t<translation>`.

The checkpoint is read the way the trainer writes it (`logdir/train/ckpt-%08d` listed in
the `checkpoint` state file, the model saved as `model`), and the vocabulary is checked
against the model's output size before anything is decoded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

import numpy as np

from lingvo.tasks.mt.tools import multi30k
from lingvo.trainer import checkpointer

__all__ = ["FindCheckpoint", "LoadTranslator", "NoCheckpointError", "Translator"]


# One definition for every tool, in the trainer that writes the checkpoints.
NoCheckpointError = checkpointer.NoCheckpointError
FindCheckpoint = checkpointer.NewestCheckpointOfLogdir


class Translator:
    """Beam-searches sentences with an MT task and turns the hypotheses back into text.

    Args:
      task: An MT task (`lingvo.tasks.mt.model.MTBaseModel`) with its variables set.
      wpm: The `lingvo.ops.WordPieceModel` of the task's vocabulary.
      beam_size: Hypotheses per source in the search.
      batch_size: Sentences decoded together.
      max_source_length: Sources are cut to this many ids (with `</s>`); 0: no limit.
      escape: Whether sources get Moses' escapes (`&quot;`, `&apos;`, `&amp;`) and
        translations lose them, as for a model trained on `multi30k` records; None: when
        the vocabulary has a `&quot;` piece but no `"` piece, i.e. was learned on escaped
        text like `wpm-ende-2k.voc`.
    """

    def __init__(
        self,
        task: Any,
        wpm: Any,
        beam_size: int = 4,
        batch_size: int = 32,
        max_source_length: int = 0,
        escape: bool | None = None,
    ) -> None:
        import tensorflow as tf

        self.task = task
        self.wpm = wpm
        self.beam_size = beam_size
        self.batch_size = batch_size
        self.max_source_length = max_source_length
        self.truncated = 0
        # Pieces the vocabulary cannot spell (characters it lacks) become <unk>; counted.
        self.unknown_pieces = 0
        self.lines_with_unknown = 0
        if escape is None:
            pieces = set(np.asarray(wpm.id_to_piece(np.arange(len(wpm)))).tolist())
            escape = b'"' not in pieces and any(b"&quot;" in p for p in pieces)
        self.escape = escape
        self._eos = int(wpm.eos_id)
        self._search = tf.function(self._Search, autograph=False, reduce_retracing=True)

    def _Search(self, ids: Any, paddings: Any) -> tuple[Any, Any, Any]:
        from lingvo.core.nested_map import NestedMap

        task = self.task
        theta = task.EvalTheta()
        enc = task.enc.FProp(theta.enc, NestedMap(ids=ids, paddings=paddings))
        out = task.dec.BeamSearchDecode(theta.dec, enc, num_hyps_per_beam=self.beam_size)
        return out.topk_ids, out.topk_lens, out.topk_scores

    def _Batch(self, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        encoded = []
        if self.escape:
            lines = [multi30k.EscapeText(line) for line in lines]
        for ids in self.wpm.encode_batch(list(lines)):
            unknown = int(np.sum(np.asarray(ids) == self.wpm.unk_id))
            self.unknown_pieces += unknown
            self.lines_with_unknown += unknown > 0
            ids = np.append(ids, self._eos).astype(np.int32)
            if self.max_source_length and len(ids) > self.max_source_length:
                self.truncated += 1
                ids = np.append(ids[: self.max_source_length - 1], self._eos).astype(np.int32)
            encoded.append(ids)
        # Fixed batch rows and widths rounded up to a multiple of 16 keep the number of
        # traced shapes small; the extra rows hold a lone </s> and are dropped afterwards.
        width = -(-max(len(x) for x in encoded) // 16) * 16
        if self.max_source_length:
            width = min(width, self.max_source_length)
        rows = max(self.batch_size, len(encoded))
        ids = np.zeros([rows, width], np.int32)
        paddings = np.ones([rows, width], np.float32)
        ids[len(encoded) :, 0] = self._eos
        paddings[len(encoded) :, 0] = 0.0
        for i, x in enumerate(encoded):
            ids[i, : len(x)] = x
            paddings[i, : len(x)] = 0.0
        return ids, paddings

    def _Text(self, ids: np.ndarray) -> str:
        ids = [int(i) for i in ids]
        if ids and ids[-1] == self._eos:
            ids = ids[:-1]
        text = self.wpm.decode(np.asarray(ids, np.int32)).decode("utf-8", "replace")
        return multi30k.UnescapeText(text) if self.escape else text

    def TranslateBatch(
        self, lines: Sequence[str], n_best: int = 1
    ) -> list[list[tuple[str, float]]]:
        """Translates up to `batch_size` non-empty lines.

        Returns:
          For each line, its `min(n_best, beam_size)` best (translation, score), best first.
        """
        from lingvo.core import run_mode

        ids, paddings = self._Batch(lines)
        with run_mode.EvalMode():
            topk_ids, topk_lens, topk_scores = self._search(ids, paddings)
        topk_ids, topk_lens = np.asarray(topk_ids), np.asarray(topk_lens)
        topk_scores = np.asarray(topk_scores)
        k = topk_scores.shape[1]
        out = []
        for b in range(len(lines)):
            hyps = []
            for j in range(min(n_best, k)):
                row = b * k + j
                hyps.append((self._Text(topk_ids[row, : topk_lens[row]]), float(topk_scores[b, j])))
            out.append(hyps)
        return out

    def Translate(self, lines: Iterable[str], n_best: int = 1) -> Iterable[list[tuple[str, float]]]:
        """Translates lines in batches, in order; an empty line gives no hypotheses.

        Yields:
          One list of (translation, score) per input line.
        """
        pending: list[str] = []

        def Flush() -> list[list[tuple[str, float]]]:
            todo = [s for s in pending if s]
            done = iter(self.TranslateBatch(todo, n_best) if todo else [])
            results = [next(done) if s else [] for s in pending]
            pending.clear()
            return results

        for line in lines:
            pending.append(" ".join(line.split()))
            if len(pending) == self.batch_size:
                yield from Flush()
        if pending:
            yield from Flush()


def LoadTranslator(
    model: str,
    logdir: str,
    vocab: str | None = None,
    beam_size: int = 4,
    batch_size: int = 32,
    checkpoint: str | None = None,
    model_params_override: str | None = None,
    dataset: str = "Test",
    stream: IO[str] | None = None,
) -> Translator:
    """Builds the registered model, restores the newest checkpoint, returns a `Translator`.

    Args:
      model: The registry key, e.g. `mt.wmtm16_en_de.WmtCaptionEnDeTransformer`.
      logdir: The training run's logdir.
      vocab: The word-piece vocabulary; None: the dataset input's tokenizer vocabulary.
      beam_size: Hypotheses per source.
      batch_size: Sentences decoded together.
      checkpoint: A checkpoint path to use instead of the newest one.
      model_params_override: Overrides, as the trainer's `--model_params_override`.
      dataset: The dataset whose params (vocabulary, lengths) are used.
      stream: Where the log lines go; None: stderr.

    Raises:
      NoCheckpointError: The logdir has no checkpoint (checked before building the model).
      ValueError: The vocabulary is missing or does not match the model's vocabulary size.
    """
    stream = sys.stderr if stream is None else stream
    path = checkpoint or FindCheckpoint(logdir)

    from lingvo import model_registry, ops
    from lingvo.core import run_mode

    params = model_registry.GetParams(model, dataset, model_params_override=model_params_override)
    task_p = params.task
    inp = params.input
    if vocab is None:
        tok = getattr(inp, "tokenizer", None)
        vocab = getattr(tok, "token_vocab_filepath", None) or getattr(tok, "vocab_filepath", None)
    if not vocab or not os.path.isfile(vocab):
        raise ValueError(
            f"vocabulary {vocab!r} not found: pass --vocab, or set the {dataset} input's "
            "tokenizer.token_vocab_filepath"
        )
    wpm = ops.WordPieceModel(vocab)
    num_classes = task_p.decoder.softmax.num_classes
    if num_classes and len(wpm) != num_classes:
        raise ValueError(
            f"vocabulary {vocab} has {len(wpm)} pieces but model {model} has "
            f"{num_classes} output classes (decoder.softmax.num_classes)"
        )
    task_p.decoder.beam_search.num_hyps_per_beam = beam_size
    with run_mode.EvalMode():
        mdl = params.Instantiate()
    ckpt = checkpointer.Checkpointer(os.path.dirname(path), {"model": mdl}, params.train)
    ckpt.Restore(path)
    step = int(mdl.global_step.numpy()) if hasattr(mdl, "global_step") else -1
    print(f"translate: restored {path} (step {step}); vocabulary {vocab}", file=stream)
    max_len = int(getattr(inp, "source_max_length", 0) or 0)
    return Translator(mdl.GetTask(), wpm, beam_size, batch_size, max_source_length=max_len)


def _Parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.mt.tools.translate",
        description="Translates sentences with the newest checkpoint of a trained MT model.",
    )
    parser.add_argument("--model", required=True, help="Registry key of the experiment.")
    parser.add_argument("--logdir", required=True, help="The training run's logdir.")
    parser.add_argument("--input", default="-", help="Input text file; '-' is stdin.")
    parser.add_argument("--output", default="-", help="Output file; '-' is stdout.")
    parser.add_argument("--n_best", type=int, default=1, help="Translations per sentence.")
    parser.add_argument("--beam_size", type=int, default=4, help="Hypotheses per beam.")
    parser.add_argument("--batch_size", type=int, default=32, help="Sentences per batch.")
    parser.add_argument("--vocab", default=None, help="Word-piece vocabulary override.")
    parser.add_argument("--checkpoint", default=None, help="A checkpoint instead of the newest.")
    parser.add_argument(
        "--model_params_override", default=None, help="Params overrides, as the trainer's."
    )
    return parser


def ParseArgs(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses and checks the command line (exits with a usage message on bad values)."""
    parser = _Parser()
    args = parser.parse_args(argv)
    for name in ("n_best", "beam_size", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.n_best > args.beam_size:
        parser.error(f"--n_best ({args.n_best}) cannot exceed --beam_size ({args.beam_size})")
    if args.input != "-" and not os.path.isfile(args.input):
        parser.error(f"--input: no such file: {args.input}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = ParseArgs(argv)
    try:
        translator = LoadTranslator(
            args.model,
            args.logdir,
            vocab=args.vocab,
            beam_size=args.beam_size,
            batch_size=args.batch_size,
            checkpoint=args.checkpoint,
            model_params_override=args.model_params_override,
        )
    except (NoCheckpointError, ValueError, LookupError) as e:
        print(f"translate: error: {e}", file=sys.stderr)
        return 1
    count = 0
    with contextlib.ExitStack() as files:
        src = sys.stdin
        if args.input != "-":
            src = files.enter_context(open(args.input, encoding="utf-8"))
        dst = sys.stdout
        if args.output != "-":
            dst = files.enter_context(open(args.output, "w", encoding="utf-8"))
        for n, hyps in enumerate(
            translator.Translate((line.rstrip("\n") for line in src), args.n_best), 1
        ):
            count = n
            if args.n_best == 1:
                dst.write((hyps[0][0] if hyps else "") + "\n")
            else:
                for rank, (text, score) in enumerate(hyps):
                    dst.write(f"{n}\t{rank}\t{score:.6f}\t{text}\n")
            dst.flush()
    note = (
        f", {translator.truncated} cut to the model's source length" if translator.truncated else ""
    )
    if translator.unknown_pieces:
        note += (
            f", {translator.unknown_pieces} <unk> pieces (characters outside the vocabulary) "
            f"in {translator.lines_with_unknown} lines"
        )
    print(f"translate: {count} lines translated{note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
