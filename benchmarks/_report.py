"""Shared output of every benchmark: the printed table and `bench-results/<name>.json`."""

from __future__ import annotations

import json
import pathlib
import statistics
import subprocess


def run_worker(python: str, worker: pathlib.Path, *args: str) -> dict:
    """Runs a benchmark worker under `python` and returns the JSON of its last stdout line.

    Workers run in a fresh process so that ours and the reference (which lives in its own
    virtual environment) are measured the same way.
    """
    proc = subprocess.run([python, str(worker), *args], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(
            f"{worker.name} {' '.join(args)} failed ({python}):\n{proc.stderr[-4000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def row(
    metric: str,
    unit: str,
    ours: float,
    reference: str,
    reference_value: float,
    lower_is_better: bool = True,
) -> dict:
    """One result row; `advantage` > 1.0 always means ours is ahead (ARCHITECTURE.md section 8)."""
    advantage = reference_value / ours if lower_is_better else ours / reference_value
    return {
        "metric": metric,
        "unit": unit,
        "ours": round(ours, 3),
        "reference": reference,
        "reference_value": round(reference_value, 3),
        "advantage": round(advantage, 2),
    }


def median_rows(metrics, samples: dict[str, dict[str, list[float]]], reference: str) -> list[dict]:
    """One row per `(key, row name, unit, lower is better)` in `metrics`: the median of
    `samples["ours"][key]` against the median of `samples["lingvo"][key]`."""
    return [
        row(
            name,
            unit,
            median(samples["ours"][key]),
            reference,
            median(samples["lingvo"][key]),
            lower_is_better=lower,
        )
        for key, name, unit, lower in metrics
    ]


def write(name: str, config: dict, rows: list[dict], out: pathlib.Path) -> None:
    """Prints the table and writes the JSON result file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"name": name, "config": config, "rows": rows}, indent=2) + "\n")
    header = ("metric", "unit", "ours", "reference", "reference value", "advantage")
    cells = [header] + [
        (
            r["metric"],
            r["unit"],
            f"{r['ours']:.2f}",
            r["reference"],
            f"{r['reference_value']:.2f}",
            f"{r['advantage']:.2f}x",
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    print(f"\n{name}  {json.dumps(config)}")
    for i, c in enumerate(cells):
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=False)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"wrote {out}")
