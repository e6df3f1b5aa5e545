"""The driver shared by `bench_transformer_layer` and `bench_lstm`: ours vs lingvo 0.14.2.

Runs `layers_worker.py` here and under the reference interpreter in alternating rounds,
measures this machine's float32 matmul peak in the same run, and reports medians: steps/s
(forward+backward, gradients computed, not applied) under `tf.function` and under
`tf.function(jit_compile=True)`, and the achieved matmul FLOP/s as a fraction of the peak.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

import _report

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "layers_worker.py"
REFERENCE = "lingvo 0.14.2"


def Main(name: str, size_flags: dict[str, int], doc: str) -> None:
    """Parses the size flags (defaults: the issue's sizes), runs both sides, writes the table.

    Args:
      name: The benchmark name (`transformer_layer` or `lstm`), also the worker's model.
      size_flags: Flag name (without dashes) to its default.
      doc: The calling script's docstring, for --help.
    """
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=2, help="Alternating rounds per side.")
    parser.add_argument("--steps", type=int, default=3, help="Timed steps per measurement.")
    parser.add_argument("--matmul-dim", type=int, default=2048, help="Peak matmul size n.")
    for flag, default in size_flags.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", type=int, default=default)
    args = parser.parse_args()
    sizes = [f"--{f.replace('_', '-')}={getattr(args, f)}" for f in size_flags]
    common = [*sizes, f"--steps={args.steps}"]

    peaks, samples, errors, flops = [], {"ours": [], "lingvo": []}, {}, None
    loads = [os.getloadavg()[0]]
    for round_ in range(args.rounds):
        peak = _report.run_worker(
            sys.executable, WORKER, "ours", "matmul_peak", f"--matmul-dim={args.matmul_dim}"
        )
        peaks.append(peak["gflops"])
        for impl, python in (("ours", sys.executable), ("lingvo", args.reference_python)):
            result = _report.run_worker(python, WORKER, impl, name, *common)
            loads.append(os.getloadavg()[0])
            samples[impl].append(result)
            flops = result["flops_per_step"]
            errors.update({f"{impl} {k}": v for k, v in result.items() if k.endswith("_error")})
            print(
                f"round {round_ + 1}/{args.rounds} {impl}: "
                f"tf.function {result['steps_per_s']} steps/s, "
                f"jit_compile {result['steps_per_s_xla']} steps/s; peak {peak['gflops']:.1f} "
                f"GFLOP/s; load {loads[-1]:.1f}",
                flush=True,
            )

    def Median(impl: str, key: str) -> float | None:
        values = [r[key] for r in samples[impl] if r[key] is not None]
        return _report.median(values) if values else None

    peak_gflops = _report.median(peaks)
    ours, ours_xla = Median("ours", "steps_per_s"), Median("ours", "steps_per_s_xla")
    ref, ref_xla = Median("lingvo", "steps_per_s"), Median("lingvo", "steps_per_s_xla")
    # Where Lingvo's graph does not compile under XLA, its best is its plain tf.function.
    ref_xla_label = REFERENCE if ref_xla else f"{REFERENCE} (tf.function; its XLA compile fails)"
    ref_best = max(v for v in (ref, ref_xla) if v)
    ours_best = max(v for v in (ours, ours_xla) if v)
    rows = [
        _report.row("steps_per_s", "steps/s", ours, REFERENCE, ref, lower_is_better=False),
    ]
    if ours_xla:
        rows.append(
            _report.row(
                "steps_per_s_xla",
                "steps/s",
                ours_xla,
                ref_xla_label,
                ref_xla or ref,
                lower_is_better=False,
            )
        )
    rows.append(
        _report.row(
            "peak_fraction_best",
            "fraction",
            ours_best * flops / (peak_gflops * 1e9),
            REFERENCE,
            ref_best * flops / (peak_gflops * 1e9),
            lower_is_better=False,
        )
    )
    config = {
        **{f: getattr(args, f) for f in size_flags},
        "steps": args.steps,
        "rounds": args.rounds,
        "gflop_per_step": round(flops / 1e9, 3),
        "matmul_peak_gflops": round(peak_gflops, 1),
        "matmul_dim": args.matmul_dim,
        "matmul_peak_gflops_per_round": [round(g, 1) for g in peaks],
        "steps_per_s_per_round": {
            impl: [[r["steps_per_s"], r["steps_per_s_xla"]] for r in rs]
            for impl, rs in samples.items()
        },
        "cpu_count": os.cpu_count(),
        "load_average_1min": [round(v, 2) for v in loads],
    }
    if errors:
        config["errors"] = errors
    _report.write(name, config, rows, args.out)
