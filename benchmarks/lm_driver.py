"""The driver shared by `bench_lm_rnn.py` and `bench_lm_transformer.py`.

Prepares the Multi30k corpus once (`lm_data`), then runs `lm_worker.py` for ours and for
PyPI lingvo 0.14.2 in alternating rounds (ours, lingvo, ours, lingvo, ...), each in a
fresh process with the trainer's command line, and reports medians.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile

import _report
import lm_data

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "lm_worker.py"
REFERENCE = "lingvo 0.14.2"


def Main(
    name: str, doc: str, models: tuple[str, str], evaluate: bool, config: dict, steps: int
) -> None:
    """Parses the benchmark's arguments, runs it and writes `--out`.

    Args:
      name: The benchmark's name (`lm_rnn`).
      doc: Its module docstring (the --help text).
      models: The registry keys, ours and lingvo's.
      evaluate: Whether each run also measures validation word perplexity.
      config: The model's description for the result file.
      steps: The default number of training steps (a few minutes per side on 2 cores).
    """
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=2, help="Alternating rounds per side.")
    parser.add_argument("--steps", type=int, default=steps, help="Training steps (max_steps).")
    parser.add_argument("--warmup", type=int, default=20, help="Steps left out of the rates.")
    parser.add_argument("--corpus-from", type=pathlib.Path, default=lm_data.SHARED)
    args = parser.parse_args()

    metrics = [
        ("words_per_s", "train_words_per_s", "words/s", False),
        ("steps_per_s", "train_steps_per_s", "steps/s", False),
        ("first_step_s", "start_to_first_step_s", "s", True),
        ("peak_rss_mb", "trainer_peak_rss_mb", "MiB", True),
    ]
    if evaluate:
        metrics.insert(0, ("val_word_perplexity", "val_word_perplexity_at_steps", "ppl", True))
    samples = {impl: {m[0]: [] for m in metrics} for impl in ("ours", "lingvo")}
    load = []
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        tmp = pathlib.Path(tmp)
        sizes = lm_data.Prepare(tmp / "corpus", args.corpus_from)
        print(f"corpus: {sizes}", flush=True)
        for round_ in range(args.rounds):
            for impl, python, model in (
                ("ours", sys.executable, models[0]),
                ("lingvo", args.reference_python, models[1]),
            ):
                run_dir = tmp / f"{impl}-{round_}"
                run_dir.mkdir()
                load.append(os.getloadavg()[0])
                result = _report.run_worker(
                    python,
                    WORKER,
                    impl,
                    model,
                    str(tmp / "corpus"),
                    str(run_dir / "log"),
                    str(args.steps),
                    str(args.warmup),
                    "1" if evaluate else "0",
                )
                for key, *_ in metrics:
                    samples[impl][key].append(result[key])
                ppl = result.get("val_word_perplexity")
                print(
                    f"round {round_ + 1}/{args.rounds} {impl}: "
                    f"{result['words_per_s']:.0f} words/s, {result['steps_per_s']:.2f} steps/s, "
                    f"first step {result['first_step_s']:.1f} s"
                    + (f", val word perplexity {ppl:.2f}" if ppl else ""),
                    flush=True,
                )
    rows = [
        _report.row(
            row_name,
            unit,
            _report.median(samples["ours"][key]),
            REFERENCE,
            _report.median(samples["lingvo"][key]),
            lower_is_better=lower,
        )
        for key, row_name, unit, lower in metrics
    ]
    full_config = {
        "model": f"{models[0]} (lingvo: {models[1]} from lm_lingvo_params)",
        **config,
        "data": "multi30k train.en.gz / val.en.gz, lower-cased, punctuation split",
        "corpus": sizes,
        "flags": "--run_locally=cpu --mode=sync --job=controller,trainer_client"
        + (", then --job=evaler_dev" if evaluate else ""),
        "steps": args.steps,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "samples": samples,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_run_starts": [round(v, 2) for v in load],
    }
    _report.write(name, full_config, rows, args.out)
