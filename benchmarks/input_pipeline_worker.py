"""One timed run of the `input_pipeline` benchmark, ours or tf.data; prints one JSON line.

Usage: input_pipeline_worker.py {ours,tfdata} {pipeline,read} {text,tfrecord} DATA VOCAB
       WARMUP MEASURE PARALLELISM
`pipeline` = shuffle, tokenise (word -> id), bucket by length (bounds 10/20/40/80, batch limits
256/128/64/32) and pad; `read` = read and shuffle only. It runs in whichever environment has the
implementation: ours needs `lingvo.ops`, tf.data needs `tensorflow` (the reference environment
has it), so this file imports neither at the top.
"""

from __future__ import annotations

import json
import sys
import time

BOUNDS = (10, 20, 40, 80)
LIMITS = (256, 128, 64, 32)
SHUFFLE = 10000
SEED = 301


def _time(batches, warmup: int, measure: int) -> float:
    """Records per second over `measure` records, after `warmup` records."""
    seen = 0
    start = None
    for n in batches:
        seen += n
        if start is None and seen >= warmup:
            start, seen = time.perf_counter(), 0
        elif start is not None and seen >= measure:
            return seen / (time.perf_counter() - start)
    raise SystemExit(f"the data ran out after {seen} records; use fewer --warmup/--measure")


def ours(mode, fmt, data, vocab_path, parallelism):
    import numpy as np

    from lingvo import ops

    yielder = ops.RecordYielder(
        f"{fmt}:{data}", seed=SEED, buffer_size=SHUFFLE, parallelism=parallelism
    )
    if mode == "read":

        def chunks():
            while True:
                yield len(yielder.next_batch(256))

        return chunks()
    with open(vocab_path, "rb") as f:
        vocab = {w: i for i, w in enumerate(f.read().split(b"\n"))}
    lookup = vocab.__getitem__

    def processor(line):
        ids = np.array(list(map(lookup, line.split())), dtype=np.int32)
        return ids, len(ids)

    batches = ops.generic_input(
        yielder, processor, bucket_upper_bound=BOUNDS, bucket_batch_limit=LIMITS
    )
    return (len(b.bucket_keys) for b in batches)


def tfdata(mode, fmt, data, vocab_path, parallelism):
    import tensorflow as tf

    if fmt == "text":
        ds = tf.data.TextLineDataset(data)
    else:
        ds = tf.data.TFRecordDataset(data, buffer_size=256 * 1024)
    ds = ds.shuffle(SHUFFLE, seed=SEED).repeat()
    if mode == "read":
        ds = ds.batch(256).prefetch(tf.data.AUTOTUNE)
        return (int(b.shape[0]) for b in ds)
    table = tf.lookup.StaticHashTable(
        tf.lookup.TextFileInitializer(
            vocab_path,
            tf.string,
            tf.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64,
            tf.lookup.TextFileIndex.LINE_NUMBER,
        ),
        -1,
    )

    def tokenise(line):
        return tf.cast(table.lookup(tf.strings.split(line)), tf.int32)

    ds = ds.map(tokenise, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.filter(lambda ids: tf.size(ids) <= BOUNDS[-1])
    # tf.data buckets are [lo, hi); ours are (lo, hi]: the same buckets for integer lengths.
    ds = ds.bucket_by_sequence_length(
        element_length_func=tf.size,
        bucket_boundaries=[b + 1 for b in BOUNDS[:-1]],
        bucket_batch_sizes=list(LIMITS),
    ).prefetch(tf.data.AUTOTUNE)
    return (int(b.shape[0]) for b in ds)


def main() -> None:
    impl, mode, fmt, data, vocab, warmup, measure, parallelism = sys.argv[1:9]
    build = {"ours": ours, "tfdata": tfdata}[impl]
    batches = build(mode, fmt, data, vocab, int(parallelism))
    rate = _time(batches, int(warmup), int(measure))
    print(json.dumps({"records_per_s": rate}))


if __name__ == "__main__":
    main()
