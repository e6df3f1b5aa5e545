"""Benchmark `params`: Copy / ToText / FromText of a 10,000-leaf tree, ours vs PyPI lingvo 0.14.2.

Runs `params_worker.py` in this environment and in the reference one, alternating rounds, and
reports medians. Usage (what `nox -s bench -- params` runs):
  python bench_params.py --reference-python <venv>/bin/python --out bench-results/params.json
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import _report

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "params_worker.py"
REFERENCE = "lingvo 0.14.2"
METRICS = (("copy_ms", "Copy"), ("to_text_ms", "ToText"), ("from_text_ms", "FromText"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per side.")
    parser.add_argument("--repeats", type=int, default=5, help="Timed repeats per round.")
    args = parser.parse_args()

    samples = {"ours": {m: [] for m, _ in METRICS}, "lingvo": {m: [] for m, _ in METRICS}}
    leaves = None
    for round_ in range(args.rounds):
        for impl, python in (("ours", sys.executable), ("lingvo", args.reference_python)):
            result = _report.run_worker(python, WORKER, impl, str(args.repeats))
            leaves = result["leaves"]
            for metric, _ in METRICS:
                samples[impl][metric] += result[metric]
            print(
                f"round {round_ + 1}/{args.rounds} {impl}: "
                + ", ".join(f"{label} {_report.median(result[m]):.1f} ms" for m, label in METRICS),
                flush=True,
            )
    rows = [
        _report.row(
            f"{label}_ms",
            "ms",
            _report.median(samples["ours"][m]),
            REFERENCE,
            _report.median(samples["lingvo"][m]),
        )
        for m, label in METRICS
    ]
    config = {"leaves": leaves, "depth": 6, "rounds": args.rounds, "repeats": args.repeats}
    _report.write("params", config, rows, args.out)


if __name__ == "__main__":
    main()
