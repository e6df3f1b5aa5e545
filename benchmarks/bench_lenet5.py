"""Benchmark `lenet5`: the MNIST quick start, ours vs PyPI lingvo 0.14.2, as users run it.

Both sides train LeNet5 (batch 256) with `python -m lingvo.trainer --run_locally=cpu
--mode=sync --job=controller,trainer_client` on the same MNIST-format bundle, written by our
`lingvo.trainer.tools.mnist` in Lingvo's `keras2ckpt` format (from `--mnist-from`, by default
the shared folder of IDX files beside the checkout when present, else a download). Lingvo runs
`--model=mnist.LeNet5` from our own params module in `lenet5_lingvo_params/` (its wheel ships
no task params). Then an `evaler_test` process evaluates the checkpoint at `--steps`.

Reported (medians over alternating rounds, each side in a fresh process): steps/s and
examples/s after `--warmup` steps (from the arrival times of the trainer's `step:` lines),
seconds from the command's start to its first training step, the trainer's and the evaler's
peak RSS (`wait4` of the child), and eval accuracy at `--steps`. Usage (what
`nox -s bench -- lenet5` runs):
  python bench_lenet5.py --reference-python <venv>/bin/python --out bench-results/lenet5.json
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

import _report

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "lenet5_worker.py"
SHARED_MNIST = HERE.parent.parent / "shared" / "data" / "mnist"
REFERENCE = "lingvo 0.14.2"
# (metric key, row name, unit, lower is better)
METRICS = (
    ("steps_per_s", "train_steps_per_s", "steps/s", False),
    ("examples_per_s", "train_examples_per_s", "examples/s", False),
    ("first_step_s", "start_to_first_step_s", "s", True),
    ("peak_rss_mb", "trainer_peak_rss_mb", "MiB", True),
    ("evaler_peak_rss_mb", "evaler_peak_rss_mb", "MiB", True),
    ("accuracy", "eval_accuracy_at_steps", "fraction", False),
)


def _PrepareData(folder: pathlib.Path, source: str) -> tuple[str, int, int]:
    """Writes the bundle with our data tool; returns its prefix and the train/test sizes."""
    cmd = [sys.executable, "-m", "lingvo.trainer.tools.mnist", f"--out={folder}"]
    if source:
        cmd.append(f"--from={source}")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from lingvo.tasks.image.input_generator import ReadArrays

    prefix = str(folder / "mnist")
    y_train, y_test = ReadArrays(prefix, ["y_train", "y_test"])
    print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else prefix, flush=True)
    return prefix, int(y_train.shape[0]), int(y_test.shape[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=2, help="Alternating rounds per side.")
    parser.add_argument("--steps", type=int, default=300, help="Training steps (train.max_steps).")
    parser.add_argument("--warmup", type=int, default=20, help="Steps left out of the rate.")
    parser.add_argument(
        "--mnist-from",
        default=str(SHARED_MNIST) if SHARED_MNIST.exists() else "",
        help="IDX folder or 'sklearn-digits' for the data tool; empty downloads MNIST.",
    )
    args = parser.parse_args()

    samples = {"ours": {m[0]: [] for m in METRICS}, "lingvo": {m[0]: [] for m in METRICS}}
    load = []
    with tempfile.TemporaryDirectory(prefix="bench-lenet5-") as tmp:
        tmp = pathlib.Path(tmp)
        data, n_train, n_test = _PrepareData(tmp / "data", args.mnist_from)
        for round_ in range(args.rounds):
            for impl, python in (("ours", sys.executable), ("lingvo", args.reference_python)):
                run_dir = tmp / f"{impl}-{round_}"
                run_dir.mkdir()
                load.append(os.getloadavg()[0])
                result = _report.run_worker(
                    python,
                    WORKER,
                    impl,
                    data,
                    str(run_dir / "log"),
                    str(args.steps),
                    str(args.warmup),
                    str(n_train),
                    str(n_test),
                )
                for key, *_ in METRICS:
                    samples[impl][key].append(result[key])
                print(
                    f"round {round_ + 1}/{args.rounds} {impl}: "
                    f"{result['steps_per_s']:.2f} steps/s, "
                    f"first step {result['first_step_s']:.1f} s, "
                    f"peak RSS {result['peak_rss_mb']:.0f} MiB "
                    f"(evaler {result['evaler_peak_rss_mb']:.0f} MiB), "
                    f"accuracy {result['accuracy']:.4f} at step {args.steps}",
                    flush=True,
                )
    rows = _report.median_rows(METRICS, samples, REFERENCE)
    config = {
        "model": "image.mnist.LeNet5 (lingvo: mnist.LeNet5 from lenet5_lingvo_params)",
        "batch": 256,
        "flags": "--run_locally=cpu --mode=sync --job=controller,trainer_client",
        "steps": args.steps,
        "warmup": args.warmup,
        "train_examples": n_train,
        "test_examples": n_test,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_run_starts": [round(v, 2) for v in load],
    }
    _report.write("lenet5", config, rows, args.out)


if __name__ == "__main__":
    main()
