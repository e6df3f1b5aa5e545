"""Benchmark `input_pipeline`: records/s of ops.RecordYielder + generic_input against tf.data
and against Lingvo's own GenericInput op.

The benchmark writes its own data into a temporary folder: a text file of `--lines` lines (about
32 words each, from a 20,000-word vocabulary) and the same lines as one TFRecord file. Each run
shuffles (buffer 10,000), tokenises word -> id (ours: a `batch_processor` calling
`ops.tokenize_to_ids` once per chunk of records; tf.data: `tf.strings.split` + a
`StaticHashTable`, `map` with AUTOTUNE; Lingvo: its `generic_input` op in a TF1 graph with a
processor of `tf.strings.split` + its `vocab_token_to_id` op), buckets by length (bounds
10/20/40/80, batch limits 256/128/64/32) and pads, and reports records per second
after a warm-up. A `read` row times reading + shuffling alone (against tf.data). tf.data runs in
this interpreter when it can import tensorflow, else in `--reference-python`; Lingvo runs in
`--reference-python` (the PyPI lingvo 0.14.2 environment), once per `--lingvo-threads` value
(its processor threads; 1 is Lingvo's default). Missing environments leave their rows out. Runs
alternate ours / tf.data / Lingvo in fresh processes, the table gives medians, and the config
records the load average before and after. Usage (what `nox -s bench -- input_pipeline` runs):
  python bench_input_pipeline.py --out bench-results/input_pipeline.json [--reference-python PY]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import sys
import tempfile
import time

import _report

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "input_pipeline_worker.py"
CASES = (
    ("pipeline", "text", "text_pipeline_records_per_s"),
    ("pipeline", "tfrecord", "tfrecord_pipeline_records_per_s"),
    ("read", "tfrecord", "tfrecord_read_shuffle_records_per_s"),
)


def _make_data(folder: pathlib.Path, lines: int, seed: int = 0) -> tuple[dict, float]:
    """Writes words.vocab, data.txt and data.tfrecord; returns their paths and the seconds taken."""
    import numpy as np

    from lingvo import ops

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
    vocab_size = 20000
    words = sorted(
        {bytes(letters[rng.integers(0, 26, rng.integers(2, 10))]) for _ in range(vocab_size * 2)}
    )[:vocab_size]
    paths = {
        "vocab": folder / "words.vocab",
        "text": folder / "data.txt",
        "tfrecord": folder / "data.tfrecord",
    }
    paths["vocab"].write_bytes(b"\n".join(words))
    word_array = np.array(words, dtype=object)
    # Zipf-like word frequencies, 1 to 63 words a line (32 on average).
    probs = 1.0 / np.arange(1, len(words) + 1)
    probs /= probs.sum()
    with open(paths["text"], "wb") as text, ops.TFRecordWriter(str(paths["tfrecord"])) as tfr:
        for begin in range(0, lines, 20000):
            n = min(20000, lines - begin)
            lengths = rng.integers(1, 64, n)
            ids = rng.choice(len(words), size=int(lengths.sum()), p=probs)
            tokens = word_array[ids]
            ends = np.cumsum(lengths)
            chunk = [b" ".join(tokens[e - k : e]) for e, k in zip(ends, lengths, strict=True)]
            text.write(b"\n".join(chunk) + b"\n")
            tfr.write_many(chunk)
    return {k: str(v) for k, v in paths.items()}, time.perf_counter() - start


def _run(python: str, impl: str, mode: str, fmt: str, paths: dict, args) -> float:
    extra = []
    if impl.startswith("lingvo"):
        impl, threads = impl.split(":")
        extra = [threads]
    result = _report.run_worker(
        python,
        WORKER,
        impl,
        mode,
        fmt,
        paths[fmt],
        paths["vocab"],
        str(args.warmup),
        str(args.measure),
        str(args.parallelism),
        *extra,
    )
    return result["records_per_s"]


def _reference_name(impl: str) -> str:
    if impl == "tfdata":
        return "tf.data"
    return f"lingvo 0.14.2 generic_input (num_threads={impl.split(':')[1]})"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _tf_python(reference_python: str | None) -> str | None:
    if importlib.util.find_spec("tensorflow") is not None:
        return sys.executable
    return reference_python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--reference-python", help="A Python with tensorflow, for tf.data.")
    parser.add_argument("--lines", type=int, default=1_000_000, help="Lines of generated data.")
    parser.add_argument("--warmup", type=int, default=20_000, help="Records before timing.")
    parser.add_argument("--measure", type=int, default=200_000, help="Records timed per run.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per side.")
    parser.add_argument("--parallelism", type=int, default=2, help="Our reader threads.")
    parser.add_argument("--workdir", type=pathlib.Path, help="Keep the data here (default: temp).")
    parser.add_argument(
        "--lingvo-threads",
        default="1,2",
        help="Processor threads of Lingvo's generic_input, one reference per value.",
    )
    args = parser.parse_args()

    tf_python = _tf_python(args.reference_python)
    references = ["tfdata"] if tf_python else []
    if args.reference_python:
        references += [f"lingvo:{n}" for n in args.lingvo_threads.split(",") if n]
    pythons = {"ours": sys.executable, "tfdata": tf_python}
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="bench-input-") as tmp:
        folder = args.workdir or pathlib.Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths, gen_s = _make_data(folder, args.lines)
        print(f"generated {args.lines} lines (text + TFRecord) in {gen_s:.1f} s", flush=True)
        samples = {case: {impl: [] for impl in ["ours", *references]} for case in CASES}
        for round_ in range(args.rounds):
            for case in CASES:
                mode, fmt, metric = case
                for impl in ["ours", *references]:
                    if impl.startswith("lingvo") and mode != "pipeline":
                        continue
                    python = pythons.get(impl, args.reference_python)
                    rate = _run(python, impl, mode, fmt, paths, args)
                    samples[case][impl].append(rate)
                    print(
                        f"round {round_ + 1}/{args.rounds} {metric} {impl}: {rate:,.0f}", flush=True
                    )
    load_after = _load()
    rows = []
    for case in CASES:
        metric = case[2]
        ours = _report.median(samples[case]["ours"])
        for impl in references:
            if not samples[case][impl]:
                continue
            ref = _report.median(samples[case][impl])
            name = metric if impl == "tfdata" else f"{metric}_vs_lingvo_{impl.split(':')[1]}t"
            rows.append(_report.row(name, "records/s", ours, _reference_name(impl), ref, False))
        if not references:
            rows.append(
                {
                    "metric": metric,
                    "unit": "records/s",
                    "ours": round(ours, 3),
                    "reference": "tf.data (tensorflow not available)",
                    "reference_value": None,
                    "advantage": None,
                }
            )
    config = {
        "lines": args.lines,
        "words_per_line": "1-63, mean 32",
        "vocab": 20000,
        "shuffle_buffer": 10000,
        "bucket_upper_bound": [10, 20, 40, 80],
        "bucket_batch_limit": [256, 128, 64, 32],
        "warmup": args.warmup,
        "measure": args.measure,
        "rounds": args.rounds,
        "parallelism": args.parallelism,
        "ours_processor": "batch_processor (tokenize_to_ids per chunk of 256), num_threads=2",
        "generate_s": round(gen_s, 1),
        "tf_python": tf_python,
        "reference_python": args.reference_python,
        "lingvo_threads": args.lingvo_threads if args.reference_python else None,
        "samples": {
            case[2]: {impl: [round(v) for v in values] for impl, values in by_impl.items()}
            for case, by_impl in samples.items()
        },
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    if references:
        _report.write("input_pipeline", config, rows, args.out)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"name": "input_pipeline", "config": config, "rows": rows}, indent=2) + "\n"
        )
        for r in rows:
            print(f"{r['metric']}: {r['ours']:,.0f} records/s (no tf.data to compare)")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
