"""Tests of generic_input's vectorised batch_processor and BucketBatcher.add_many."""

import logging
import pathlib
import threading
import time

import numpy as np
import pytest

from lingvo import ops
from lingvo.ops._ordered_pool import ordered_chunk_map

BOUNDS, LIMITS = [10, 20, 40, 80], [16, 8, 4, 2]
WORDS = [f"w{i}" for i in range(50)]


def _write_lines(path, n, seed=0):
    rng = np.random.default_rng(seed)
    # 0..90 words a line: empty lines (key 0) and too-long ones (dropped) included.
    lines = [" ".join(rng.choice(WORDS, rng.integers(0, 91))) for _ in range(n)]
    pathlib.Path(path).write_text("".join(f"{line}\n" for line in lines))
    return path


def _vocab():
    return ops.Vocabulary.from_lines(["<unk>", "<s>", "</s>", *WORDS])


def _per_record_processor():
    ids = {w.encode(): i + 3 for i, w in enumerate(WORDS)}

    def processor(line):
        tokens = np.array([ids[w] for w in line.split()], np.int32)
        return tokens, len(tokens)

    return processor


def _batch_processor(vocab):
    def batch_processor(lines):
        ids, lengths = ops.tokenize_to_ids(lines, vocab)
        return np.split(ids, np.cumsum(lengths[:-1])), lengths

    return batch_processor


def _run(records, **processors):
    batcher = ops.BucketBatcher(BOUNDS, LIMITS)
    batches = list(
        ops.generic_input(
            records,
            bucket_upper_bound=BOUNDS,
            bucket_batch_limit=LIMITS,
            pad_values=-1,
            batcher=batcher,
            **processors,
        )
    )
    return batches, batcher


def _assert_same_batches(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.bucket == w.bucket
        assert g.values.dtype == w.values.dtype == np.int32
        np.testing.assert_array_equal(g.values, w.values)
        np.testing.assert_array_equal(g.bucket_keys, w.bucket_keys)


def test_batch_processor_matches_per_record_processor_on_a_shuffled_yielder(tmp_path):
    path = _write_lines(tmp_path / "lines.txt", 2000)

    def yielder():
        return ops.RecordYielder(
            f"text:{path}", seed=17, buffer_size=300, parallelism=2, repeat_count=1
        )

    want, want_batcher = _run(yielder(), processor=_per_record_processor())
    got, got_batcher = _run(yielder(), batch_processor=_batch_processor(_vocab()))
    _assert_same_batches(got, want)
    # Lines of 81..90 words are dropped the same way by both.
    assert got_batcher.dropped_too_large == want_batcher.dropped_too_large > 0
    assert got_batcher.accepted == want_batcher.accepted
    assert got_batcher.accepted + got_batcher.dropped == 2000
    # Every sample is its line's ids, padded with -1 past its key.
    for batch in got:
        for row, key in zip(batch.values, batch.bucket_keys, strict=True):
            assert (row[:key] >= 3).all() and (row[key:] == -1).all()


def test_batch_processor_over_a_plain_list_gets_chunks_in_order():
    lines = [b" ".join([b"w1"] * (i % 30)) for i in range(1000)]
    chunks = []

    def batch_processor(records):
        chunks.append(list(records))
        return [np.full(len(r.split()), i, np.int64) for i, r in enumerate(records)], [
            len(r.split()) for r in records
        ]

    got, _ = _run(lines, batch_processor=batch_processor)
    assert [len(c) for c in chunks] == [256, 256, 256, 232]
    assert [r for c in chunks for r in c] == lines
    want, _ = _run(lines, processor=lambda r: (np.ones(len(r.split()), np.int64), len(r.split())))
    assert [(b.bucket, b.bucket_keys.tolist()) for b in got] == [
        (b.bucket, b.bucket_keys.tolist()) for b in want
    ]
    assert sum(len(b.bucket_keys) for b in got) == 1000


def test_batch_processor_length_mismatch_is_an_error():
    def too_few_samples(records):
        return [np.zeros(1, np.int32)] * (len(records) - 1), [1] * len(records)

    with pytest.raises(ValueError, match="returned 2 samples and 3 bucket keys for a chunk of 3"):
        _run([b"a", b"b", b"c"], batch_processor=too_few_samples)

    def too_many_keys(records):
        return [np.zeros(1, np.int32)] * len(records), np.ones(len(records) + 2, np.int32)

    with pytest.raises(ValueError, match="returned 3 samples and 5 bucket keys"):
        _run([b"a", b"b", b"c"], batch_processor=too_many_keys)

    with pytest.raises(TypeError, match=r"must return \(samples, bucket_keys\)"):
        _run([b"a"], batch_processor=lambda records: ([np.zeros(1)], 1))


def test_exactly_one_processor_is_required():
    with pytest.raises(TypeError, match="exactly one of processor and batch_processor"):
        _run([b"a"])
    with pytest.raises(TypeError, match="exactly one of processor and batch_processor"):
        _run([b"a"], processor=lambda r: (r, 1), batch_processor=lambda rs: (rs, [1] * len(rs)))


def test_add_many_matches_add_and_logs_the_same_drops(caplog):
    rng = np.random.default_rng(3)
    keys = rng.integers(-5, 90, 500)
    samples = [np.arange(max(k, 0)) for k in keys]
    one = ops.BucketBatcher(BOUNDS, LIMITS, flush_every_n=37)
    many = ops.BucketBatcher(BOUNDS, LIMITS, flush_every_n=37)
    with caplog.at_level(logging.WARNING, logger="lingvo.ops"):
        want = [b for k, s in zip(keys, samples, strict=True) for b in one.add(k, s)]
        logged_by_add = [r.getMessage() for r in caplog.records]
        caplog.clear()
        got = many.add_many(keys[:200], samples[:200]) + many.add_many(keys[200:], samples[200:])
        logged_by_add_many = [r.getMessage() for r in caplog.records]
    assert logged_by_add_many == logged_by_add and len(logged_by_add) >= 5
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.bucket == w.bucket
        np.testing.assert_array_equal(g.bucket_keys, w.bucket_keys)
        assert all(a is b for a, b in zip(g.samples, w.samples, strict=True))
    assert (many.accepted, many.dropped_negative, many.dropped_too_large) == (
        one.accepted,
        one.dropped_negative,
        one.dropped_too_large,
    )


def test_add_many_errors():
    b = ops.BucketBatcher([10], [4])
    with pytest.raises(TypeError, match="keys must be integers, got an array of float64"):
        b.add_many([1.5, 2.0], ["a", "b"])
    with pytest.raises(ValueError, match=r"one key per sample, got keys of shape \(3,\) and 2"):
        b.add_many([1, 2, 3], ["a", "b"])
    assert b.accepted == 0 and b.add_many([], []) == []


def test_pad_and_stack_vectors_match_a_per_sample_copy():
    rng = np.random.default_rng(5)
    for dtype in (np.int32, np.float32, np.int64):
        samples = [rng.integers(0, 100, rng.integers(0, 12)).astype(dtype) for _ in range(40)]
        samples.append(np.zeros(0, dtype))
        got = ops.pad_and_stack(samples, pad_values=7)
        width = max(len(s) for s in samples)
        want = np.full((len(samples), width), 7, dtype)
        for i, s in enumerate(samples):
            want[i, : len(s)] = s
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)
    # All samples empty: a [batch, 0] array.
    assert ops.pad_and_stack([np.zeros(0, np.int32)] * 3).shape == (3, 0)


def _processor_threads():
    return [t for t in threading.enumerate() if t.name.startswith("lingvo-ops-processor")]


@pytest.mark.parametrize("per_record", [False, True])
def test_processor_threads_give_the_same_batches(tmp_path, per_record):
    path = _write_lines(tmp_path / "lines.txt", 3000, seed=1)

    def yielder():
        return ops.RecordYielder(
            f"text:{path}", seed=29, buffer_size=500, parallelism=2, repeat_count=1
        )

    want, want_batcher = _run(yielder(), processor=_per_record_processor())
    if per_record:
        processors = {"processor": _per_record_processor()}
    else:
        processors = {"batch_processor": _batch_processor(_vocab())}
    got, got_batcher = _run(yielder(), num_threads=3, **processors)
    _assert_same_batches(got, want)
    assert (got_batcher.accepted, got_batcher.dropped) == (
        want_batcher.accepted,
        want_batcher.dropped,
    )
    assert _processor_threads() == []


def test_processor_threads_keep_read_order_whatever_the_timing():
    rng = np.random.default_rng(0)
    delays = rng.uniform(0, 0.004, 64).tolist()
    chunks = iter([[i] * 3 for i in range(64)] + [[]])

    def slow_square(chunk):
        time.sleep(delays[chunk[0]])
        return chunk[0] ** 2

    out = list(ordered_chunk_map(lambda: next(chunks), slow_square, num_threads=4))
    assert out == [([i] * 3, i * i) for i in range(64)]
    assert _processor_threads() == []


def test_processor_thread_errors_reach_the_caller_and_stop_the_threads():
    lines = [b"w1 w2"] * 2000

    def failing(records):
        if failing.calls == 3:
            raise RuntimeError("bad chunk")
        failing.calls += 1
        return [np.ones(2, np.int32)] * len(records), [2] * len(records)

    failing.calls = 0
    batches = ops.generic_input(
        lines,
        batch_processor=failing,
        bucket_upper_bound=BOUNDS,
        bucket_batch_limit=LIMITS,
        num_threads=2,
    )
    with pytest.raises(RuntimeError, match="bad chunk"):
        list(batches)
    assert _processor_threads() == []

    with pytest.raises(ValueError, match="returned 1 samples and 256 bucket keys"):
        _run(lines, batch_processor=lambda rs: ([0], [1] * len(rs)), num_threads=2)
    with pytest.raises(ValueError, match="num_threads >= 1, got 0"):
        _run(lines, processor=lambda r: (r, 1), num_threads=0)
    assert _processor_threads() == []


def test_closing_a_threaded_generic_input_stops_its_threads(tmp_path):
    path = _write_lines(tmp_path / "lines.txt", 200)
    with ops.RecordYielder(f"text:{path}", seed=3, buffer_size=50) as endless:
        batches = ops.generic_input(
            endless,
            batch_processor=_batch_processor(_vocab()),
            bucket_upper_bound=BOUNDS,
            bucket_batch_limit=LIMITS,
            num_threads=2,
        )
        first = [next(batches) for _ in range(20)]
        assert len(_processor_threads()) == 2
        batches.close()
    assert all(b.values.shape[0] == len(b.bucket_keys) for b in first)
    assert _processor_threads() == []
