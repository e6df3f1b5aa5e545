"""Benchmark `beam_decode`: beam search with a 6-layer Transformer decoder, ours vs lingvo 0.14.2.

Each side decodes a batch of 16 sources (a fixed random encoder output of length 20) with its
MT `TransformerDecoder` (model dim 512, feed-forward 2048, 8 heads, vocabulary 32,000) and its
`BeamSearchHelper`, 4 hyps per beam, exactly 50 steps (the end of sequence is never accepted, so
no decode stops early). `beam_decode_worker.py` runs ours here and Lingvo's in the reference
environment, each in a fresh process, alternating rounds, and reports the medians: sentences per
second, and the time per decode split between the beam-search kernels and the rest (the decoder
step: embedding, 6 layers with cached self-attention, softmax; and the state reordering).
Usage (what `nox -s bench -- beam_decode` runs):
  python bench_beam_decode.py --reference-python <venv>/bin/python \
      --out bench-results/beam_decode.json
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

import _report

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "beam_decode_worker.py"
REFERENCE = "lingvo 0.14.2"
BATCH = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per side.")
    parser.add_argument("--repeats", type=int, default=2, help="Timed decodes per round.")
    args = parser.parse_args()

    sides = (("ours", sys.executable), ("lingvo", args.reference_python))
    seconds: dict[str, list[float]] = {impl: [] for impl, _ in sides}
    cpu_seconds: dict[str, list[float]] = {impl: [] for impl, _ in sides}
    kernel_ms: dict[str, list[float]] = {impl: [] for impl, _ in sides}
    loads = [os.getloadavg()[0]]
    for round_ in range(args.rounds):
        for impl, python in sides:
            result = _report.run_worker(python, WORKER, impl, str(args.repeats))
            seconds[impl] += result["seconds_per_decode"]
            cpu_seconds[impl] += result["cpu_seconds_per_decode"]
            kernel_ms[impl].append(result["kernel_ms_per_decode"])
            loads.append(os.getloadavg()[0])
            print(
                f"round {round_ + 1}/{args.rounds} {impl}: "
                f"{_report.median(result['seconds_per_decode']):.2f} s/decode "
                f"({_report.median(result['cpu_seconds_per_decode']):.2f} s CPU), "
                f"kernels {result['kernel_ms_per_decode']:.0f} ms",
                flush=True,
            )
    ours_s, ref_s = _report.median(seconds["ours"]), _report.median(seconds["lingvo"])
    ours_k, ref_k = _report.median(kernel_ms["ours"]), _report.median(kernel_ms["lingvo"])
    rows = [
        _report.row(
            "sentences_per_s", "sentences/s", BATCH / ours_s, REFERENCE, BATCH / ref_s, False
        ),
        _report.row("ms_per_decode", "ms", ours_s * 1e3, REFERENCE, ref_s * 1e3),
        _report.row(
            "cpu_s_per_decode",
            "s",
            _report.median(cpu_seconds["ours"]),
            REFERENCE,
            _report.median(cpu_seconds["lingvo"]),
        ),
        _report.row("search_kernel_ms_per_decode", "ms", ours_k, REFERENCE, ref_k),
        _report.row(
            "decoder_step_ms_per_decode",
            "ms",
            ours_s * 1e3 - ours_k,
            REFERENCE,
            ref_s * 1e3 - ref_k,
        ),
    ]
    config = {
        "batch": BATCH,
        "hyps_per_beam": 4,
        "steps": 50,
        "layers": 6,
        "model_dim": 512,
        "hidden_dim": 2048,
        "vocab": 32000,
        "src_len": 20,
        "rounds": args.rounds,
        "repeats": args.repeats,
        "kernel_time": "ours: timed around the lingvo.ops calls; lingvo: traced op stats",
        "load_average_1min": [round(x, 2) for x in loads],
    }
    _report.write("beam_decode", config, rows, args.out)


if __name__ == "__main__":
    main()
