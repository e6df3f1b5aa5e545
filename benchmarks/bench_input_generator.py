"""Benchmark `input_generator`: tokenised, bucketed batches/s through `base_input_generator`.

Writes `--records` tf.Examples (a `src` and a `tgt` sentence of 4-60 words each) to a TFRecord
file, then reads one evaluation pass of it two ways, each in a fresh process, alternating
`--rounds` times, and reports medians:

- ours: a `BaseSequenceInputGenerator` whose `_ProcessRecord` parses the example and tokenises
  both sides with the generator's `VocabFileTokenizer` (the `lingvo.ops` kernel), bucketed by
  `bucket_upper_bound` / `bucket_batch_limit` and padded;
- tf.data: `TFRecordDataset` -> `parse_single_example` -> `tf.strings.split` + a
  `StaticHashTable` lookup -> `bucket_by_sequence_length` with the same bounds, batch sizes
  and padding, `map` with AUTOTUNE, prefetch.

Goal: not slower than tf.data. Usage (what `nox -s bench -- input_generator` runs):
  python bench_input_generator.py --out bench-results/input_generator.json [--records N]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
BOUNDS = [10, 20, 40, 80]
LIMITS = [128, 64, 32, 16]
VOCAB = 8000


def _Write(folder: pathlib.Path, records: int) -> tuple[str, str]:
    import numpy as np

    from lingvo.core import tf_example

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(VOCAB)]
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["<unk>", "<s>", "</s>", *words]) + "\n")

    def Sentence():
        return " ".join(words[i] for i in rng.integers(0, VOCAB, size=rng.integers(4, 61)))

    path = folder / "data.tfrecord"
    tf_example.WriteExamples(
        str(path), [{"src": Sentence(), "tgt": Sentence()} for _ in range(records)]
    )
    return str(path), str(vocab)


def _Ours(path: str, vocab: str) -> tuple[int, int, float]:
    import tensorflow as tf

    from lingvo.core import base_input_generator, tokenizers
    from lingvo.core.nested_map import NestedMap

    SPEC = {k: tf.io.FixedLenFeature([], tf.string) for k in ("src", "tgt")}

    class Input(base_input_generator.BaseSequenceInputGenerator):
        def _ProcessRecord(self, record):
            f = tf.io.parse_single_example(record, SPEC)
            # The tokenizer pads to each sentence's own length (pad_to_max_length=False).
            src_ids, _, src_pad = self.StringsToIds(f["src"], is_source=True)
            tgt_ids, tgt_labels, tgt_pad = self.StringsToIds(f["tgt"])
            example = NestedMap(
                src=NestedMap(ids=src_ids[0], paddings=src_pad[0]),
                tgt=NestedMap(ids=tgt_ids[0], labels=tgt_labels[0], paddings=tgt_pad[0]),
            )
            return example, tf.maximum(tf.size(src_ids), tf.size(tgt_ids))

    p = Input.Params().Set(
        name="bench",
        file_pattern=f"tfrecord:{path}",
        bucket_upper_bound=BOUNDS,
        bucket_batch_limit=LIMITS,
        source_max_length=BOUNDS[-1],
        target_max_length=BOUNDS[-1],
        repeat_count=1,
        require_sequential_order=True,
    )
    p.tokenizer = tokenizers.VocabFileTokenizer.Params().Set(
        token_vocab_filepath=vocab,
        load_token_ids_from_vocab=False,
        target_sos_id=1,
        target_eos_id=2,
        target_unk_id=0,
        pad_to_max_length=False,
    )
    gen = p.Instantiate()
    return _Time(lambda: iter(gen.dataset), lambda b: int(b.src.ids.shape[0]))


def _TfData(path: str, vocab: str) -> tuple[int, int, float]:
    import tensorflow as tf

    keys = tf.constant(pathlib.Path(vocab).read_text().split("\n")[:-1])
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, tf.range(tf.size(keys), dtype=tf.int32)), 0
    )
    spec = {k: tf.io.FixedLenFeature([], tf.string) for k in ("src", "tgt")}
    max_len = BOUNDS[-1]

    def Process(record):
        f = tf.io.parse_single_example(record, spec)
        src = table.lookup(tf.strings.split(f["src"]))
        tgt = table.lookup(tf.strings.split(f["tgt"]))
        src = tf.concat([src[: max_len - 1], [2]], 0)  # the tokenizer's EOS and truncation
        tgt_ids = tf.concat([[1], tgt[: max_len - 1]], 0)
        tgt_labels = tf.concat([tgt[: max_len - 1], [2]], 0)
        return {
            "src_ids": src,
            "src_paddings": tf.zeros(tf.shape(src), tf.float32),
            "tgt_ids": tgt_ids,
            "tgt_labels": tgt_labels,
            "tgt_paddings": tf.zeros(tf.shape(tgt_ids), tf.float32),
        }

    def Make():
        ds = tf.data.TFRecordDataset(path).map(Process, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.bucket_by_sequence_length(
            lambda x: tf.maximum(tf.size(x["src_ids"]), tf.size(x["tgt_ids"])),
            bucket_boundaries=[b + 1 for b in BOUNDS[:-1]],
            bucket_batch_sizes=LIMITS,
            padding_values={
                "src_ids": 0,
                "src_paddings": 1.0,
                "tgt_ids": 0,
                "tgt_labels": 0,
                "tgt_paddings": 1.0,
            },
        )
        return iter(ds.prefetch(tf.data.AUTOTUNE))

    return _Time(Make, lambda b: int(b["src_ids"].shape[0]))


def _Time(make, size) -> tuple[int, int, float]:
    next(make())  # warm-up: graph tracing, table and vocabulary loading
    start = time.perf_counter()
    batches = records = 0
    for b in make():
        batches += 1
        records += size(b)
    return batches, records, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", help="Unused: the reference is tf.data, here.")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--records", type=int, default=200000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=["ours", "tfdata"], help=argparse.SUPPRESS)
    parser.add_argument("--data", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        fn = _Ours if args.worker == "ours" else _TfData
        batches, records, seconds = fn(*args.data)
        print(json.dumps({"batches": batches, "records": records, "seconds": seconds}))
        return

    sys.path.insert(0, str(HERE))
    import _report

    with tempfile.TemporaryDirectory() as tmp:
        data = _Write(pathlib.Path(tmp), args.records)
        runs: dict[str, list[dict]] = {"ours": [], "tfdata": []}
        loads = [os.getloadavg()[0]]
        for _ in range(args.rounds):
            for side in runs:
                runs[side].append(
                    _report.run_worker(
                        sys.executable,
                        pathlib.Path(__file__),
                        "--out",
                        "-",
                        "--worker",
                        side,
                        "--data",
                        *data,
                    )
                )
                loads.append(os.getloadavg()[0])
                last = runs[side][-1]
                print(f"{side}: {last['records'] / last['seconds']:.0f} records/s", flush=True)
    rows = []
    for metric, key in (("batches_per_s", "batches"), ("records_per_s", "records")):
        ours = _report.median([r[key] / r["seconds"] for r in runs["ours"]])
        ref = _report.median([r[key] / r["seconds"] for r in runs["tfdata"]])
        rows.append(_report.row(metric, f"{key}/s", ours, "tf.data", ref, lower_is_better=False))
    config = {
        "records": args.records,
        "bucket_upper_bound": BOUNDS,
        "bucket_batch_limit": LIMITS,
        "vocab": VOCAB,
        "rounds": args.rounds,
        "batches_ours": runs["ours"][0]["batches"],
        "batches_tfdata": runs["tfdata"][0]["batches"],
        "load_average_1min": [round(x, 2) for x in loads],
    }
    _report.write("input_generator", config, rows, args.out)


if __name__ == "__main__":
    main()
