"""Benchmark `beam_search_step`: a 50-step loop, ours vs numpy vs PyPI lingvo 0.14.2's op.

Batch 16, 4 hyps per beam, vocabulary 32,000; each step's outputs feed the next. Runs
`beam_search_worker.py` here (ours, numpy) and in the reference environment (lingvo, eager
mode), alternating rounds, and reports median microseconds per step. Usage (what
`nox -s bench -- beam_search_step` runs):
  python bench_beam_search_step.py --reference-python <venv>/bin/python \
      --out bench-results/beam_search_step.json
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import _report

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "beam_search_worker.py"
REFERENCE = "lingvo 0.14.2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per side.")
    parser.add_argument("--repeats", type=int, default=5, help="Timed 50-step loops per round.")
    args = parser.parse_args()

    sides = (("ours", sys.executable), ("numpy", sys.executable), ("lingvo", args.reference_python))
    samples: dict[str, list[float]] = {impl: [] for impl, _ in sides}
    digests: dict[str, str] = {}
    for round_ in range(args.rounds):
        for impl, python in sides:
            result = _report.run_worker(python, WORKER, impl, str(args.repeats))
            samples[impl] += result["us_per_step"]
            digests[impl] = result["hyps_digest"]
            print(
                f"round {round_ + 1}/{args.rounds} {impl}: "
                f"{_report.median(result['us_per_step']):.0f} us/step",
                flush=True,
            )
    if digests["ours"] != digests["lingvo"]:
        print(f"warning: token histories differ from Lingvo's: {digests}", flush=True)
    ours = _report.median(samples["ours"])
    rows = [
        _report.row("us_per_step", "us", ours, REFERENCE, _report.median(samples["lingvo"])),
        _report.row(
            "us_per_step",
            "us",
            ours,
            "numpy (vectorised, argpartition)",
            _report.median(samples["numpy"]),
        ),
    ]
    config = {
        "batch": 16,
        "hyps_per_beam": 4,
        "vocab": 32000,
        "src_len": 32,
        "steps": 50,
        "rounds": args.rounds,
        "repeats": args.repeats,
        "same_hyps_as_reference": digests["ours"] == digests["lingvo"],
    }
    _report.write("beam_search_step", config, rows, args.out)


if __name__ == "__main__":
    main()
