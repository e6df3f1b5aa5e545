"""One timed run of the `input_pipeline` benchmark, ours, tf.data or Lingvo's; prints one JSON line.

Usage: input_pipeline_worker.py {ours,tfdata,lingvo} {pipeline,read} {text,tfrecord} DATA VOCAB
       WARMUP MEASURE PARALLELISM [PROCESSOR_THREADS]
`pipeline` = shuffle, tokenise (word -> id), bucket by length (bounds 10/20/40/80, batch limits
256/128/64/32) and pad; `read` = read and shuffle only (ours and tf.data). It runs in whichever
environment has the implementation: ours needs `lingvo.ops`, tf.data needs `tensorflow`, Lingvo's
`generic_input` needs PyPI lingvo 0.14.2 (the reference environment has both), so this file
imports none of them at the top.
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


def ours(mode, fmt, data, vocab_path, parallelism, num_threads=2):
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
        words = f.read().split(b"\n")
    # The same vocabulary as Lingvo's side: the specials first, so every id is 3 higher.
    vocab = ops.Vocabulary.from_lines([b"<unk>", b"<s>", b"</s>", *words])

    def batch_processor(lines):
        # One C++ call (GIL released) splits and looks up a whole chunk of lines.
        ids, lengths = ops.tokenize_to_ids(lines, vocab)
        ends = np.cumsum(lengths).tolist()
        # One view of the flat ids per line.
        return [ids[end - n : end] for end, n in zip(ends, lengths.tolist(), strict=True)], lengths

    batches = ops.generic_input(
        yielder,
        batch_processor=batch_processor,
        bucket_upper_bound=BOUNDS,
        bucket_batch_limit=LIMITS,
        num_threads=num_threads,
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


def lingvo(mode, fmt, data, vocab_path, parallelism, num_threads=1):
    """Lingvo 0.14.2's GenericInput op, driven as its trainer drives it: a TF1 graph and a
    session. Its record yielder reads and shuffles (`file_parallelism` reader threads, as many
    as ours), `num_threads` processor threads run the processor function (split + Lingvo's
    VocabTokenToId), and its batcher buckets and pads (dynamic padding on dimension 0)."""
    if mode != "pipeline":
        raise SystemExit("the lingvo side times the whole pipeline only")
    import lingvo.compat as tf
    from lingvo.core import generic_input
    from lingvo.core import ops as lingvo_ops

    with open(vocab_path, "rb") as f:
        words = f.read().decode().split("\n")
    # Lingvo's vocabularies need <unk>, <s> and </s>; with them first every id is 3 higher.
    vocab = ["<unk>", "<s>", "</s>", *words]

    def processor(record):
        ids = lingvo_ops.vocab_token_to_id(
            tf.strings.split([record]).values, vocab=vocab, load_token_ids_from_vocab=False
        )
        return [ids], tf.size(ids)

    graph = tf.Graph()
    with graph.as_default():
        (ids,), keys = generic_input.GenericInput(
            processor,
            file_pattern=f"{fmt}:{data}",
            file_random_seed=SEED,
            file_buffer_size=SHUFFLE,
            file_parallelism=parallelism,
            num_threads=num_threads,
            bucket_upper_bound=list(BOUNDS),
            bucket_batch_limit=list(LIMITS),
            dynamic_padding_dimensions=[0],
            dynamic_padding_constants=[0],
        )
    session = tf.Session(graph=graph)

    def batches():
        while True:
            _, batch_keys = session.run([ids, keys])
            yield len(batch_keys)

    return batches()


def main() -> None:
    impl, mode, fmt, data, vocab, warmup, measure, parallelism = sys.argv[1:9]
    build = {"ours": ours, "tfdata": tfdata, "lingvo": lingvo}[impl]
    extra = [int(a) for a in sys.argv[9:]]  # ours and lingvo: processor threads
    batches = build(mode, fmt, data, vocab, int(parallelism), *extra)
    rate = _time(batches, int(warmup), int(measure))
    print(json.dumps({"records_per_s": rate}))


if __name__ == "__main__":
    main()
