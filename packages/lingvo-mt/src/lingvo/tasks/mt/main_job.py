"""The project's main job: make a corpus, train a Transformer with the trainer, decode, score.

Usage:

    python -m lingvo.tasks.mt.main_job --workdir=/tmp/lingvo-main-job [--steps=N] [--quick]

On a fresh machine and with no download it:

1. generates the synthetic English-German corpus (`tools.synthetic_corpus`: German verb-second
   and verb-final order, agreement, number words), train / dev / test disjoint;
2. learns a 2,000-piece word-piece vocabulary on the training text (`tools.wpm_learn`);
3. encodes the three splits as Lingvo's NMT TFRecords (`tools.wpm_encode`);
4. trains `mt.synthetic_en_de.SyntheticEnDeTransformer` with `python -m lingvo.trainer`
   (jobs `controller,trainer_client`) into `<workdir>/logdir`, a standard trainer logdir;
5. runs the trainer's `decoder_test` job on the final checkpoint: beam search over the
   held-out test set, Lingvo's corpus BLEU in `decoder_test/score-*.txt`;
6. prints sacreBLEU (with `pip install 'lingvo-mt[bleu]'`), Lingvo's BLEU, example
   translations, the logdir and the `tensorboard --logdir` command.

`--quick` is the same pipeline at test size (a small corpus, a few dozen steps): it checks
the plumbing, not the quality.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import IO

# The data tools do not import TensorFlow, and neither does this process: the trainer's
# processes do. The experiment module would, so its data layout is restated here (a test
# checks that the two agree).
from lingvo.tasks.mt import decode_output
from lingvo.tasks.mt.tools import synthetic_corpus, wpm_encode, wpm_learn

__all__ = ["MODEL", "Config", "QuickConfig", "Report", "Result", "Run", "main"]

MODEL = "mt.synthetic_en_de.SyntheticEnDeTransformer"
# `lingvo.tasks.mt.params.synthetic_en_de`'s data layout.
DATADIR_ENV = "LINGVO_SYNTHETIC_ENDE_DATADIR"
VOCAB_NAME = "wpm-synthetic-2k.voc"
VOCAB_SIZE = 2000
MAX_LENGTH = 50


@dataclasses.dataclass
class Config:
    """What one run does.

    Attributes:
      workdir: Holds `text/`, `data/`, `logdir/` and the jobs' full logs.
      steps: Training steps (`train.max_steps`).
      num_train: Training pairs generated.
      num_test: Held-out test pairs (the dev set has as many).
      seed: The corpus seed.
      num_examples: Example translations printed.
      train_overrides: Extra `--model_params_override` items of the training job only,
        `;`-separated (the decoder job keeps the model, so only input and train settings).
    """

    workdir: str
    steps: int = 600
    num_train: int = 20000
    num_test: int = 500
    seed: int = 1
    num_examples: int = 5
    train_overrides: str = ""


def QuickConfig(workdir: str) -> Config:
    """The test-sized run of `--quick`: enough pairs for a full 2,000-piece vocabulary, a
    short warm-up, small batches and few steps, so that it runs in a minute or two."""
    return Config(
        workdir=workdir,
        steps=80,
        num_train=2500,
        num_test=100,
        train_overrides=(
            "input.bucket_batch_limit : [48, 36, 26, 19, 14, 10]; "
            "task.train.learning_rate : 1.0; task.train.lr_schedule.warmup_steps : 40"
        ),
    )


@dataclasses.dataclass
class Result:
    """What a run reached: BLEU on the test set, examples, where things are, timings."""

    logdir: str
    step: int
    lingvo_bleu: float  # Lingvo's corpus BLEU, 0-100.
    sacrebleu: float | None  # None when sacrebleu is not installed.
    sacrebleu_signature: str
    examples: list[tuple[str, str, str]]  # (source, reference, hypothesis)
    seconds: dict[str, float]


def _Say(text: str, out: IO[str]) -> None:
    print(text, file=out, flush=True)


# ------------------------------------------------------------------------------ data


def MakeData(cfg: Config, out: IO[str]) -> tuple[str, dict[str, list[tuple[str, str]]]]:
    """Steps 1-3: corpus, vocabulary, TFRecords. Returns the data dir and the text splits."""
    text_dir = os.path.join(cfg.workdir, "text")
    data_dir = os.path.join(cfg.workdir, "data")
    start = time.time()
    splits = synthetic_corpus.GenerateSplits(cfg.num_train, cfg.num_test, cfg.num_test, cfg.seed)
    synthetic_corpus.WriteSplits(text_dir, splits)
    sizes = " / ".join(f"{len(splits[s]):,} {s}" for s in synthetic_corpus.SPLITS)
    _Say(f"   {sizes} pairs -> {text_dir} ({time.time() - start:.1f} s)", out)
    en, de = splits["train"][0]
    _Say(f"   e.g.  EN: {en}\n         DE: {de}", out)

    _Say("\n== 2. learning a 2,000-piece word-piece vocabulary on the training text", out)
    start = time.time()
    vocab = os.path.join(data_dir, VOCAB_NAME)
    os.makedirs(data_dir, exist_ok=True)
    lines = [side for pair in splits["train"] for side in pair]
    pieces = wpm_learn.LearnVocab(lines, VOCAB_SIZE, progress_every=0)
    if len(pieces) != VOCAB_SIZE:
        raise ValueError(
            f"the training text gave {len(pieces)} word pieces, the model needs "
            f"{VOCAB_SIZE}: generate more training pairs (--num_train)"
        )
    wpm_learn.WriteVocab(vocab, pieces)
    _Say(f"   {len(pieces):,} pieces -> {vocab} ({time.time() - start:.1f} s)", out)

    _Say(f"\n== 3. encoding TFRecords (at most {MAX_LENGTH} ids a side)", out)
    for split in synthetic_corpus.SPLITS:
        stats = wpm_encode.EncodePairs(
            splits[split],
            vocab,
            os.path.join(data_dir, f"{split}.tfrecords"),
            max_length=MAX_LENGTH,
            progress_every=5000,
            progress_stream=out,
            name=f"   {split}",
        )
        mean = stats.target_tokens / max(stats.written, 1)
        _Say(
            f"   {split}: {stats.written:,} records, {stats.too_long} too long, "
            f"{stats.unk_pieces} unknown characters, mean {mean:.1f} target ids "
            f"({stats.seconds:.1f} s)",
            out,
        )
    return data_dir, splits


# ------------------------------------------------------------------------------ trainer jobs

_STEP_RE = re.compile(r"step:\s*(\d+), steps/sec: ([\d.]+)")
_LOSS_RE = re.compile(r"(?<![/\w])(loss|fraction_of_correct_next_step_preds):([-\d.eE+]+)")


def _TrainerCommand(cfg: Config, job: str) -> list[str]:
    overrides = f"train.max_steps : {cfg.steps}; task.train.max_steps : {cfg.steps}"
    if cfg.train_overrides and "trainer" in job:
        overrides += "; " + cfg.train_overrides
    return [
        sys.executable,
        "-m",
        "lingvo.trainer",
        "--run_locally=cpu",
        "--mode=sync",
        f"--model={MODEL}",
        f"--logdir={os.path.join(cfg.workdir, 'logdir')}",
        f"--job={job}",
        f"--model_params_override={overrides}",
    ]


def RunTrainerJob(cfg: Config, job: str, data_dir: str, out: IO[str], report_every: int) -> None:
    """Runs `python -m lingvo.trainer --job=<job>`, reporting its step lines every so often.

    The full output goes to `<workdir>/<first job>.log`.

    Raises:
      RuntimeError: The trainer failed; the message holds the end of its log.
    """
    cmd = _TrainerCommand(cfg, job)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env[DATADIR_ENV] = data_dir
    shown = shlex.join(["python", *cmd[1:]])
    _Say(f"   {DATADIR_ENV}={data_dir} \\\n   {shown}", out)
    log_path = os.path.join(cfg.workdir, job.split(",")[-1] + ".log")
    tail: collections.deque[str] = collections.deque(maxlen=40)
    with (
        open(log_path, "w", encoding="utf-8") as log,
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        ) as proc,
    ):
        for line in proc.stdout:
            log.write(line)
            tail.append(line.rstrip())
            m = _STEP_RE.search(line)
            if m and report_every and int(m.group(1)) % report_every == 0:
                values = dict(_LOSS_RE.findall(line))
                _Say(
                    f"   step {int(m.group(1)):5d}/{cfg.steps}  loss {float(values['loss']):.3f}  "
                    f"next-token accuracy "
                    f"{float(values['fraction_of_correct_next_step_preds']):.3f}  "
                    f"{float(m.group(2)):.2f} steps/s",
                    out,
                )
            elif "decoder_test: step:" in line:
                _Say("   " + line.split("] ", 1)[-1].rstrip(), out)
    if proc.returncode:
        raise RuntimeError(
            f"`{shlex.join(cmd)}` failed (exit {proc.returncode}); the end of {log_path}:\n"
            + "\n".join(tail)
        )


# ------------------------------------------------------------------------------ scoring


def ReadDecodes(decoder_dir: str, step: int) -> dict[str, str]:
    """The decoder job's best hypothesis of each source: {source text: hypothesis text}.

    Reads the decoder's structured output (`decoder_out_<step>.jsonl`, see
    `lingvo.tasks.mt.decode_output`), not the summary strings of the pickled pairs.

    Raises:
      FileNotFoundError: The decoder job wrote no structured output for `step`.
    """
    path = decode_output.JsonLinesPath(os.path.join(decoder_dir, f"decoder_out_{step:09d}"))
    if not os.path.exists(path):
        raise FileNotFoundError(f"the decoder job wrote no {path}; did it decode step {step}?")
    return {r.source: r.hyps[0] for r in decode_output.ReadJsonLines(path)}


def ReadScore(decoder_dir: str, step: int) -> dict[str, float]:
    """`decoder_test/score-<step>.txt` as {tag: value}."""
    path = os.path.join(decoder_dir, f"score-{step:08d}.txt")
    with open(path, encoding="utf-8") as f:
        return {k: float(v) for k, v in (line.split(": ") for line in f if line.strip())}


def SacreBleu(hyps: Sequence[str], refs: Sequence[str]) -> tuple[float | None, str]:
    """sacreBLEU's corpus BLEU (0-100) and signature, or (None, why) without sacrebleu."""
    try:
        import sacrebleu
    except ImportError:
        return None, "sacrebleu is not installed: pip install 'lingvo-mt[bleu]'"
    metric = sacrebleu.metrics.BLEU()
    score = metric.corpus_score(list(hyps), [list(refs)])
    return score.score, str(metric.get_signature())


# ------------------------------------------------------------------------------ the job


def Run(cfg: Config, out: IO[str] | None = None) -> Result:
    """Runs the whole pipeline; returns what it reached."""
    out = out or sys.stdout
    seconds: dict[str, float] = {}
    os.makedirs(cfg.workdir, exist_ok=True)
    logdir = os.path.join(cfg.workdir, "logdir")
    if os.path.isdir(os.path.join(logdir, "train")):
        raise FileExistsError(
            f"{logdir} already holds a training run; use a new --workdir or delete it"
        )

    _Say(f"== 1. generating the synthetic English-German corpus (seed {cfg.seed})", out)
    start = time.time()
    data_dir, splits = MakeData(cfg, out)
    seconds["data"] = time.time() - start

    _Say(f"\n== 4. training {MODEL} for {cfg.steps} steps with the trainer", out)
    start = time.time()
    RunTrainerJob(cfg, "controller,trainer_client", data_dir, out, max(cfg.steps // 10, 1))
    seconds["train"] = time.time() - start

    n_test = len(splits["test"])
    _Say(f"\n== 5. beam search over the {n_test} held-out test sentences (decoder_test)", out)
    start = time.time()
    RunTrainerJob(cfg, "decoder_test", data_dir, out, report_every=0)
    seconds["decode"] = time.time() - start

    decoder_dir = os.path.join(logdir, "decoder_test")
    score = ReadScore(decoder_dir, cfg.steps)
    decodes = ReadDecodes(decoder_dir, cfg.steps)
    sources = [wpm_encode.NormalizeText(en) for en, _ in splits["test"]]
    refs = [de for _, de in splits["test"]]
    missing = [s for s in sources if s not in decodes]
    if missing:
        raise ValueError(f"the decoder output lacks {len(missing)} test sources: {missing[:3]}")
    hyps = [decodes[s] for s in sources]
    sacre, signature = SacreBleu(hyps, refs)
    return Result(
        logdir=logdir,
        step=cfg.steps,
        lingvo_bleu=100.0 * score["corpus_bleu"],
        sacrebleu=sacre,
        sacrebleu_signature=signature,
        examples=list(zip(sources, refs, hyps, strict=True))[: cfg.num_examples],
        seconds=seconds,
    )


def Report(result: Result, out: IO[str]) -> None:
    """Prints the BLEU, the examples, the timings and where the logdir is."""
    _Say(f"\n== results on the held-out test set (checkpoint {result.step})", out)
    if result.sacrebleu is None:
        _Say(f"   sacreBLEU    n/a ({result.sacrebleu_signature})", out)
    else:
        _Say(f"   sacreBLEU    {result.sacrebleu:5.2f}   {result.sacrebleu_signature}", out)
    _Say(f"   Lingvo BLEU  {result.lingvo_bleu:5.2f}   (decoder_test corpus_bleu x 100)", out)
    for i, (src, ref, hyp) in enumerate(result.examples, 1):
        mark = "=" if hyp == ref else "~"
        _Say(f"\n   [{i}] EN   {src}\n       DE   {ref}\n       {mark}>  {hyp}", out)
    total = sum(result.seconds.values())
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    _Say(f"\n   time: {total:.0f} s ({parts})", out)
    _Say(f"   logdir: {result.logdir}", out)
    _Say(f"   view it: tensorboard --logdir {result.logdir}", out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.mt.main_job",
        description="Generates a corpus, trains a small Transformer with the trainer, "
        "decodes the held-out set with beam search and prints its BLEU.",
    )
    parser.add_argument("--workdir", required=True, help="Where everything is written.")
    parser.add_argument("--steps", type=int, default=None, help="Training steps.")
    parser.add_argument("--quick", action="store_true", help="A test-sized run (a minute or two).")
    parser.add_argument("--num_train", type=int, default=None, help="Training pairs generated.")
    parser.add_argument("--seed", type=int, default=1, help="The corpus seed.")
    args = parser.parse_args(argv)
    workdir = os.path.abspath(args.workdir)
    cfg = QuickConfig(workdir) if args.quick else Config(workdir=workdir)
    cfg.seed = args.seed
    if args.steps is not None:
        cfg.steps = args.steps
    if args.num_train is not None:
        cfg.num_train = args.num_train
    if cfg.steps < 1:
        parser.error(f"--steps must be at least 1, got {cfg.steps}")
    try:
        result = Run(cfg)
    except (FileExistsError, FileNotFoundError, RuntimeError, ValueError) as e:
        print(f"main_job: error: {e}", file=sys.stderr)
        return 1
    Report(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
