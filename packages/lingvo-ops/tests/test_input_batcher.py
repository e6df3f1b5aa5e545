"""Tests of the bucketing batcher and its composition with a Python per-record processor."""

import logging
import pathlib

import numpy as np
import pytest

from lingvo import ops


def _write_text(path, lines):
    pathlib.Path(path).write_text("".join(f"{line}\n" for line in lines))
    return path


def test_bucket_boundaries_and_limits():
    # record_batcher_test: 'x' * (1 + i % 100), bounds {20,50,90,95}, limits {8,4,2,1}.
    bounds, limits = [20, 50, 90, 95], [8, 4, 2, 1]
    b = ops.BucketBatcher(bounds, limits)
    batches = []
    for i in range(1000):
        record = b"x" * (1 + i % 100)
        batches += b.add(len(record), record)
    batches += b.flush()
    lower = [0, *bounds[:-1]]
    for batch in batches:
        assert 1 <= len(batch.samples) <= limits[batch.bucket]
        assert batch.bucket_keys.dtype == np.int32
        for sample, key in zip(batch.samples, batch.bucket_keys, strict=True):
            assert len(sample) == key
            assert lower[batch.bucket] < key <= bounds[batch.bucket]
    assert b.dropped == b.dropped_too_large == 50  # Lengths 96..100, ten times each.
    assert b.accepted == 950 == sum(len(x.samples) for x in batches)
    assert b.pending == 0


def test_key_on_a_bound_goes_to_that_bucket():
    b = ops.BucketBatcher([10, 20], [1, 1])
    assert [x.bucket for x in b.add(10, "a")] == [0]
    assert [x.bucket for x in b.add(11, "b")] == [1]
    assert [x.bucket for x in b.add(0, "c")] == [0]
    assert b.add(21, "d") == [] and b.add(-1, "e") == []
    assert (b.dropped_too_large, b.dropped_negative, b.dropped) == (1, 1, 2)


def test_drops_are_logged(caplog):
    b = ops.BucketBatcher([10], [4])
    with caplog.at_level(logging.WARNING, logger="lingvo.ops"):
        for key in (-3, 11, 12, 13, 5):
            b.add(key, None)
    messages = [r.getMessage() for r in caplog.records]
    # The 1st, 2nd and 4th drops are logged, not the 3rd.
    assert len(messages) == 3
    assert "key -3" in messages[0] and "negative" in messages[0]
    assert "key 11" in messages[1] and "exceeds the last bucket_upper_bound 10" in messages[1]
    assert "4 dropped so far" in messages[2]


def test_flush_every_n_and_full_epoch(tmp_path):
    # record_batcher_test FullEpoch: flush_every_n = N = 1000 gives exactly the 1000 records.
    path = _write_text(tmp_path / "ids.txt", [f"{i:010d}" for i in range(1000)])
    y = ops.RecordYielder(f"text:{path}", buffer_size=100, repeat_count=1)
    b = ops.BucketBatcher([20, 50, 90, 120], [8, 8, 8, 8], flush_every_n=1000)
    seen = []
    for record in y:
        for batch in b.add(len(record), record):
            seen += batch.samples
    assert b.pending == 0
    assert sorted(seen) == [b"%010d" % i for i in range(1000)]


def test_flush_every_n_hands_out_partial_batches():
    b = ops.BucketBatcher([5, 10], [100, 100], flush_every_n=3)
    assert b.add(1, "a") == [] and b.add(7, "b") == []
    out = b.add(2, "c")
    assert [(x.bucket, x.samples) for x in out] == [(0, ["a", "c"]), (1, ["b"])]


def test_option_errors():
    with pytest.raises(ValueError, match="Bucket_upper_bound is not sorted"):
        ops.BucketBatcher([10, 5], [1, 1])
    with pytest.raises(ValueError, match="one entry per bucket"):
        ops.BucketBatcher([10], [1, 1])
    with pytest.raises(ValueError, match=r"bucket_batch_limit\[0\] must be >= 1"):
        ops.BucketBatcher([10], [0])
    with pytest.raises(ValueError, match="must not be empty"):
        ops.BucketBatcher([], [])
    with pytest.raises(ValueError, match="flush_every_n"):
        ops.BucketBatcher([10], [1], flush_every_n=-1)
    with pytest.raises(TypeError, match="integer"):
        ops.BucketBatcher([10], [1]).add(1.5, None)


def test_generic_input_basic(tmp_path):
    # generic_input_test basic: 100 records, processor -> [source_id, record, [x, x^2]], batch 8.
    path = _write_text(tmp_path / "r.txt", [f"{i:08d}" for i in range(100)])
    y = ops.RecordYielder(f"text:{path}", repeat_count=1, with_source_id=True, buffer_size=10)

    def processor(item):
        record, source_id = item
        x = int(record)
        return (np.int32(source_id), np.bytes_(record), np.array([x, x * x], np.int64)), 1

    batches = list(ops.generic_input(y, processor, bucket_upper_bound=[1], bucket_batch_limit=[8]))
    assert [len(b.bucket_keys) for b in batches] == [8] * 12 + [4]
    first = batches[0].values
    assert [v.shape for v in first] == [(8,), (8,), (8, 2)]
    assert first[1].dtype.kind == "S"
    xs = np.concatenate([b.values[2][:, 0] for b in batches])
    assert sorted(xs.tolist()) == list(range(100))
    squares = np.concatenate([b.values[2] for b in batches])
    np.testing.assert_array_equal(squares[:, 1], squares[:, 0] ** 2)
    assert all((b.bucket_keys == 1).all() for b in batches)


def test_generic_input_pads_to_batch_maximum():
    # generic_input_test padding: [n, 3, 3] arrays n = 1..49, key n, bound 10.
    records = [str(n).encode() for n in range(1, 50)]
    batcher = ops.BucketBatcher([10], [4])

    def processor(record):
        n = int(record)
        a = np.arange(n * 9, dtype=np.float32).reshape(n, 3, 3) + 1
        return {"a": a, "t": a.transpose(1, 0, 2).copy()}, n

    batches = list(
        ops.generic_input(
            records,
            processor,
            bucket_upper_bound=[10],
            bucket_batch_limit=[4],
            pad_values={"a": 0, "t": -1},
            batcher=batcher,
        )
    )
    assert batcher.dropped_too_large == 39
    assert sum(len(b.bucket_keys) for b in batches) == 10
    for b in batches:
        a, t = b.values["a"], b.values["t"]
        width = int(b.bucket_keys.max())
        assert a.shape == (len(b.bucket_keys), width, 3, 3) and width <= 10
        assert t.shape == (len(b.bucket_keys), 3, width, 3)
        for row, n in enumerate(b.bucket_keys):
            assert (a[row, n:] == 0).all() and (a[row, :n] > 0).all()
            assert (t[row, :, n:] == -1).all()
            np.testing.assert_array_equal(a[row, :n].transpose(1, 0, 2), t[row, :, :n])


def test_generic_input_negative_key_drops_odd_records():
    batcher = ops.BucketBatcher([100], [5])

    def processor(record):
        x = int(record)
        return np.int64(x), (-1 if x % 2 else 1)

    records = [b"%d" % i for i in range(20)]
    batches = list(
        ops.generic_input(
            records, processor, bucket_upper_bound=(), bucket_batch_limit=(), batcher=batcher
        )
    )
    values = sorted(np.concatenate([b.values for b in batches]).tolist())
    assert values == list(range(0, 20, 2))
    assert batcher.dropped_negative == 10


def test_generic_input_within_batch_mixing(tmp_path):
    # generic_input_test mixing: 3 sources, weights .2/.3/.5, batches of 8.
    patterns = []
    for i in range(3):
        path = _write_text(tmp_path / f"tag{i}.txt", [f"tag{i}:{j}" for j in range(1000)])
        patterns.append(f"text:{path}")
    y = ops.RecordYielder(patterns, [0.2, 0.3, 0.5], with_source_id=True, buffer_size=200)

    def processor(item):
        record, source_id = item
        return (np.int32(int(record[3:4])), np.int32(source_id)), 1

    counts = np.zeros(3)
    by_source = np.zeros(3)
    batches = ops.generic_input(y, processor, bucket_upper_bound=[1], bucket_batch_limit=[8])
    for _, b in zip(range(3000), batches, strict=False):
        tags, sources = b.values
        assert len(tags) == 8 and (b.bucket_keys == 1).all()
        counts += np.bincount(tags, minlength=3)
        by_source += np.bincount(sources, minlength=3)
    np.testing.assert_allclose(counts / counts.sum(), [0.2, 0.3, 0.5], atol=0.01)
    np.testing.assert_array_equal(counts, by_source)
    y.close()


def test_sequential_repeat_two_limit_one(tmp_path):
    # record_batcher_test CaptureYielderStatus: sequential, repeat 2, limit 1.
    path = _write_text(tmp_path / "r.txt", [f"{i}" for i in range(50)])
    y = ops.RecordYielder(f"text:{path}", sequential=True, repeat_count=2)
    batches = list(
        ops.generic_input(
            y, lambda r: (np.bytes_(r), 1), bucket_upper_bound=[1], bucket_batch_limit=[1]
        )
    )
    assert [b.values[0] for b in batches] == [b"%d" % i for i in range(50)] * 2


def test_sequential_empty_file_gives_no_batches(tmp_path):
    # record_batcher_test SequentialEoFImmediately.
    path = _write_text(tmp_path / "empty.txt", [])
    y = ops.RecordYielder(f"text:{path}", sequential=True)
    assert (
        list(ops.generic_input(y, lambda r: (r, 1), bucket_upper_bound=[1], bucket_batch_limit=[1]))
        == []
    )


def test_pad_and_stack_errors():
    with pytest.raises(ValueError, match="at least one sample"):
        ops.pad_and_stack([])
    with pytest.raises(ValueError, match="Mismatch"):
        ops.pad_and_stack([np.zeros(2, np.int32), np.zeros(2, np.float32)])
    with pytest.raises(ValueError, match="Mismatch"):
        ops.pad_and_stack([(1, 2), (1,)])
    np.testing.assert_array_equal(ops.pad_and_stack([np.int32(3), np.int32(4)]), [3, 4])
