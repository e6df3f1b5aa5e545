"""Benchmark `asr_train`: training steps/s of the CPU-sized LAS, ours vs PyPI lingvo 0.14.2.

Both sides train the FSDD connected-digit model (3 strided convs, 2x64 bi-LSTMs, a 128-unit
location-sensitive speller over 13 word ids; `asr_train_worker.py` says how the params are
matched) with `python -m lingvo.trainer --run_locally=cpu --mode=sync
--job=controller,trainer_client` on the same TFRecords, written once by
`lingvo.tasks.asr.tools.fsdd_digits` (`--num-train` utterances, no perturbation).

Both sides run with TensorFlow's oneDNN kernels off (`TF_ENABLE_ONEDNN_OPTS=0`): with them on,
Lingvo's attention aborts (`free(): invalid pointer`) on its first step. The culprit is
TensorFlow 2.21's oneDNN `BatchMatMulV2` on a rank-4 x rank-2 broadcast with a size-1 batch
dim, [T, 1, B, H] x [H, 1], which Lingvo's attention logits use (`tf.matmul(summed,
reshape(v, [hidden, 1]))`); the same matmul crashes in plain TensorFlow 2.21 without Lingvo.
`--ours-onednn` adds an informational row: ours with oneDNN on (no Lingvo figure).

Reported (medians over alternating rounds, each side in a fresh process): training steps/s
and examples/s after `--warmup` steps, seconds to the first step and the trainer's peak RSS.
Usage (what `nox -s bench -- asr_train` runs):
  python bench_asr_train.py --reference-python <venv>/bin/python --out bench-results/asr_train.json
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
WORKER = HERE / "asr_train_worker.py"
SHARED_FSDD = HERE.parent.parent / "shared" / "data" / "fsdd" / "recordings"
REFERENCE = "lingvo 0.14.2"
# (metric key, row name, unit, lower is better)
METRICS = (
    ("steps_per_s", "train_steps_per_s", "steps/s", False),
    ("examples_per_s", "train_examples_per_s", "examples/s", False),
    ("first_step_s", "start_to_first_step_s", "s", True),
    ("peak_rss_mb", "trainer_peak_rss_mb", "MiB", True),
)


def _BuildData(fsdd: str, out: pathlib.Path, num_train: int) -> None:
    cmd = [sys.executable, "-m", "lingvo.tasks.asr.tools.fsdd_digits", f"--fsdd_dir={fsdd}"]
    cmd += [f"--out={out}", f"--num_train={num_train}", "--num_test=20"]
    cmd += ["--speed_range=1,1", "--gain_db_range=0,0", "--num_train_shards=2"]
    subprocess.run(cmd, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per side.")
    parser.add_argument("--steps", type=int, default=60, help="Training steps (train.max_steps).")
    parser.add_argument("--warmup", type=int, default=10, help="Steps left out of the rate.")
    parser.add_argument("--num-train", type=int, default=600, help="Training utterances.")
    parser.add_argument("--fsdd-dir", default=str(SHARED_FSDD))
    parser.add_argument("--data", default=None, help="Reuse these TFRecords (fsdd_digits output).")
    parser.add_argument("--ours-onednn", action="store_true", help="Also time ours, oneDNN on.")
    args = parser.parse_args()

    samples = {impl: {m[0]: [] for m in METRICS} for impl in ("ours", "lingvo", "ours_onednn")}
    load = []
    with tempfile.TemporaryDirectory(prefix="bench-asr-train-") as tmp:
        tmp = pathlib.Path(tmp)
        data = pathlib.Path(args.data) if args.data else tmp / "data"
        if not args.data:
            _BuildData(args.fsdd_dir, data, args.num_train)
        sides = [("ours", sys.executable, "0"), ("lingvo", args.reference_python, "0")]
        if args.ours_onednn:
            sides.append(("ours_onednn", sys.executable, "1"))
        for round_ in range(args.rounds):
            for name, python, onednn in sides:
                impl = "lingvo" if name == "lingvo" else "ours"
                run_dir = tmp / f"{name}-{round_}"
                run_dir.mkdir()
                load.append(os.getloadavg()[0])
                r = _report.run_worker(
                    python,
                    WORKER,
                    impl,
                    str(data),
                    str(run_dir / "log"),
                    str(args.steps),
                    str(args.warmup),
                    onednn,
                )
                for key, *_ in METRICS:
                    samples[name][key].append(r[key])
                print(
                    f"round {round_ + 1}/{args.rounds} {name}: {r['steps_per_s']:.3f} steps/s, "
                    f"{r['examples_per_s']:.1f} examples/s, first step {r['first_step_s']:.1f} s,"
                    f" peak RSS {r['peak_rss_mb']:.0f} MiB",
                    flush=True,
                )
    rows = _report.median_rows(METRICS, samples, REFERENCE)
    if args.ours_onednn:
        rows.append(
            _report.row(
                "train_steps_per_s_ours_onednn_on",
                "steps/s",
                _report.median(samples["ours_onednn"]["steps_per_s"]),
                f"{REFERENCE} (oneDNN off; it aborts with it on)",
                _report.median(samples["lingvo"]["steps_per_s"]),
                lower_is_better=False,
            )
        )
    config = {
        "model": "asr.fsdd.ConnectedDigits without per-utterance norm, SpecAugment and label "
        "smoothing (lingvo: fsdd.ConnectedDigits from asr_lingvo_params)",
        "data": f"FSDD connected digits, {args.num_train} training utterances, unperturbed",
        "flags": "--run_locally=cpu --mode=sync --job=controller,trainer_client",
        "env": "TF_ENABLE_ONEDNN_OPTS=0 on both sides (Lingvo aborts with oneDNN on)",
        "steps": args.steps,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_run_starts": [round(v, 2) for v in load],
    }
    _report.write("asr_train", config, rows, args.out)


if __name__ == "__main__":
    main()
