"""Benchmark `mt_train`: WmtCaptionEnDeTransformer training, ours vs PyPI lingvo 0.14.2.

Both sides train `WmtCaptionEnDeTransformer` (256 wide, 2+2 layers, Multi30k's buckets of up
to 292 captions) with `python -m lingvo.trainer --run_locally=cpu --mode=sync
--job=controller,trainer_client` on the same TFRecords, written by our Multi30k recipe
(`--multi30k-from`, by default the shared raw Multi30k folder beside the checkout). Lingvo runs
`--model=wmtm16_en_de.WmtCaptionEnDeTransformer` from our params module in `mt_lingvo_params/`
(its wheel ships no task params), which adds only a `num_target_tokens` metric.

Reported (medians over alternating rounds, each side in a fresh process): training steps/s
and target tokens/s after `--warmup` steps (from the arrival times of the trainer's `step:`
lines and their `num_target_tokens`), seconds from the command's start to the first step,
the trainer's peak RSS, and training FLOP/s (3x the forward matmuls on real tokens, see
`mt_bench_common.TrainFlopsPerStep`) as a fraction of the float32 matmul peak that
TensorFlow reaches on this machine, measured once per round in the same run. Usage (what
`nox -s bench -- mt_train` runs):
  python bench_mt_train.py --reference-python <venv>/bin/python --out bench-results/mt_train.json
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile

import _report
import mt_bench_common as common

WORKER = common.HERE / "mt_worker.py"
# (metric key, row name, unit, lower is better)
METRICS = (
    ("steps_per_s", "train_steps_per_s", "steps/s", False),
    ("cpu_s_per_step", "train_cpu_s_per_step", "CPU s", True),
    ("target_tokens_per_s", "train_target_tokens_per_s", "tokens/s", False),
    ("first_step_s", "start_to_first_step_s", "s", True),
    ("peak_rss_mb", "trainer_peak_rss_mb", "MiB", True),
    ("flops_fraction", "train_flops_fraction_of_matmul_peak", "fraction", False),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=2, help="Alternating rounds per side.")
    parser.add_argument("--steps", type=int, default=40, help="Training steps (train.max_steps).")
    parser.add_argument("--warmup", type=int, default=8, help="Steps left out of the rate.")
    parser.add_argument("--peak-seconds", type=float, default=8.0, help="Matmul peak probe.")
    parser.add_argument(
        "--multi30k-from",
        default=str(common.SHARED_MULTI30K) if common.SHARED_MULTI30K.exists() else "",
        help="Folder of the raw Multi30k .gz files; empty downloads them.",
    )
    args = parser.parse_args()

    samples = {impl: {m[0]: [] for m in METRICS} for impl in ("ours", "lingvo")}
    peaks, load, tokens_per_step = [], [], {"ours": [], "lingvo": []}
    with tempfile.TemporaryDirectory(prefix="bench-mt-train-") as tmp:
        tmp = pathlib.Path(tmp)
        data = common.PrepareData(tmp / "wpm", args.multi30k_from)
        src_len, tgt_len = data.mean_ids["train"]
        for round_ in range(args.rounds):
            peak = _report.run_worker(sys.executable, WORKER, "peak", str(args.peak_seconds))
            peaks.append(peak["matmul_flops_per_s"])
            for impl, python in (("ours", sys.executable), ("lingvo", args.reference_python)):
                run_dir = tmp / f"{impl}-{round_}"
                run_dir.mkdir()
                load.append(os.getloadavg()[0])
                r = _report.run_worker(
                    python,
                    WORKER,
                    "train",
                    impl,
                    data.datadir,
                    str(run_dir / "log"),
                    str(args.steps),
                    str(args.warmup),
                )
                flops = common.TrainFlopsPerStep(r["mean_target_tokens_per_step"], src_len, tgt_len)
                r["flops_fraction"] = flops * r["steps_per_s"] / peaks[-1]
                tokens_per_step[impl].append(r["mean_target_tokens_per_step"])
                for key, *_ in METRICS:
                    samples[impl][key].append(r[key])
                print(
                    f"round {round_ + 1}/{args.rounds} {impl}: {r['steps_per_s']:.3f} steps/s, "
                    f"{r['target_tokens_per_s']:.0f} target tokens/s, "
                    f"{r['flops_fraction']:.3f} of the {peaks[-1] / 1e9:.1f} GFLOP/s matmul "
                    f"peak, first step {r['first_step_s']:.1f} s, "
                    f"peak RSS {r['peak_rss_mb']:.0f} MiB",
                    flush=True,
                )
    rows = _report.median_rows(METRICS, samples, common.REFERENCE)
    config = {
        "model": f"{common.MODEL} (lingvo: wmtm16_en_de.WmtCaptionEnDeTransformer "
        "from mt_lingvo_params)",
        "data": "Multi30k train (29,000 pairs) through our recipe, wpm-ende-2k.voc",
        "flags": "--run_locally=cpu --mode=sync --job=controller,trainer_client",
        "steps": args.steps,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "mean_target_tokens_per_step": {
            k: round(_report.median(v), 1) for k, v in tokens_per_step.items()
        },
        "train_flops_per_step_at_median_tokens": round(
            common.TrainFlopsPerStep(
                _report.median(tokens_per_step["ours"]), *data.mean_ids["train"]
            )
        ),
        "matmul_peak_gflops_per_round": [round(p / 1e9, 1) for p in peaks],
        "cpus": os.cpu_count(),
        "load_avg_1m_at_run_starts": [round(v, 2) for v in load],
    }
    _report.write("mt_train", config, rows, args.out)


if __name__ == "__main__":
    main()
