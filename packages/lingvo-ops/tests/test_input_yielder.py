"""Tests of the record yielder: patterns, epochs, order, shuffling, shards, mixing, threads."""

import collections
import gc
import os
import pathlib
import threading

import pytest

from lingvo import ops


def _text_files(directory, n_files, n_lines, prefix="basic", name="data-{i:02d}.txt"):
    # Record k of the whole set is prefix:%010d with k = file * n_lines + line.
    paths = []
    for i in range(n_files):
        path = pathlib.Path(directory) / name.format(i=i)
        lines = (f"{prefix}:{i * n_lines + j:010d}" for j in range(n_lines))
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def _tfrecord_files(directory, n_files, n_records, name="data-{i:02d}.tfrecord", gzip=False):
    paths = []
    for i in range(n_files):
        path = pathlib.Path(directory) / name.format(i=i)
        with ops.TFRecordWriter(str(path), gzip=gzip) as w:
            for j in range(n_records):
                w.write(b"%010d" % (i * n_records + j))
        paths.append(path)
    return paths


def _take(y, n):
    out = []
    while len(out) < n:
        chunk = y.next_batch(min(10000, n - len(out)))
        assert chunk
        out += chunk
    return out


def _threads_of_this_process():
    return len(os.listdir("/proc/self/task"))


def test_plain_text_yielder_basic(tmp_path):
    # record_yielder_test PlainTextYielderBasicTest.
    _text_files(tmp_path, 10, 1000)
    with ops.RecordYielder(
        f"text:{tmp_path}/data-*", seed=301, buffer_size=2000, parallelism=1
    ) as y:
        first = _take(y, 10000)
        assert len(set(first)) == 10000
        assert all(r.startswith(b"basic:") for r in first)
        _take(y, 360000)
        assert y.epoch in (37, 38)
        assert y.records_yielded == 370000


@pytest.mark.parametrize("gzip", [False, True])
def test_tfrecord_yielder_basic(tmp_path, gzip):
    fmt = "tfrecord_gzip" if gzip else "tfrecord"
    _tfrecord_files(tmp_path, 10, 1000, gzip=gzip)
    with ops.RecordYielder(f"{fmt}:{tmp_path}/data-*", buffer_size=2000, parallelism=3) as y:
        first = _take(y, 10000)
        assert sorted(first) == [b"%010d" % k for k in range(10000)]
        _take(y, 30000)
        assert y.epoch in (4, 5)


def test_sequential_yields_every_record_once_in_file_order(tmp_path):
    # SequentialRecordYielderBasicTest and ...RepeatCount: two ordered passes, then the end.
    _text_files(tmp_path, 3, 40)
    expected = [b"basic:%010d" % k for k in range(120)]
    y = ops.RecordYielder(f"text:{tmp_path}/data-*", sequential=True, repeat_count=2)
    assert list(y) == expected + expected
    assert y.epoch == 2
    with pytest.raises(StopIteration):
        next(y)
    assert y.next_batch(5) == []


def test_sequential_sorts_comma_list(tmp_path):
    a, b = _text_files(tmp_path, 2, 5)
    y = ops.RecordYielder(f"text:{b},{a}", sequential=True, repeat_count=1)
    assert list(y) == [b"basic:%010d" % k for k in range(10)]


def test_sequential_empty_file_ends_at_once(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    assert list(ops.RecordYielder(f"text:{tmp_path}/empty.txt", sequential=True)) == []


def test_shuffles_each_epoch_and_by_seed(tmp_path):
    # ShufflesShard: one file of 32 records, buffer 32.
    _tfrecord_files(tmp_path, 1, 32)
    pattern = f"tfrecord:{tmp_path}/data-00.tfrecord"
    y = ops.RecordYielder(pattern, seed=301, buffer_size=32, repeat_count=2)
    epoch1, epoch2 = _take(y, 32), _take(y, 32)
    assert sorted(epoch1) == sorted(epoch2)
    assert epoch1 != epoch2
    other = _take(ops.RecordYielder(pattern, seed=103, buffer_size=32), 32)
    assert other != epoch1


def test_seed_makes_order_reproducible_with_threads(tmp_path):
    _tfrecord_files(tmp_path, 12, 300)
    pattern = f"tfrecord:{tmp_path}/*.tfrecord"

    def run(seed):
        with ops.RecordYielder(
            pattern, seed=seed, buffer_size=500, parallelism=4, repeat_count=2
        ) as y:
            return list(y)

    a, b = run(7), run(7)
    assert a == b
    assert len(a) == 7200 and sorted(a[:3600]) == sorted(a[3600:])
    assert run(8) != a


def test_missing_files_error(tmp_path):
    # record_yielder_test Error.
    with pytest.raises(ValueError, match="Found no files at"):
        ops.RecordYielder(f"tfrecord:{tmp_path}/nothing.*")
    with pytest.raises(FileNotFoundError, match=r"nothing\.tfrecord"):
        ops.RecordYielder(f"tfrecord:{tmp_path}/nothing.tfrecord")
    with pytest.raises(ValueError, match="no record format"):
        ops.RecordYielder(f"{tmp_path}/nothing.*")
    with pytest.raises(ValueError, match="Unable to create a record reader for format 'baz'"):
        ops.RecordYielder("baz:/foo/bar/*")


@pytest.mark.parametrize(
    ("names", "pattern"),
    [
        (["a.txt", "b.txt"], "{d}/a.txt,{d}/b.txt"),
        ([f"sharded_data-{i:05d}-of-00016" for i in range(16)], "{d}/sharded_data@16"),
        ([f"sharded_data-{i:05d}-of-00016" for i in range(16)], "{d}/sharded_data@*"),
        ([f"sharded_data-{i:05d}-of-00009.record" for i in range(9)], "{d}/sharded_data@9.record"),
    ],
)
def test_match_patterns_every_record_once_per_epoch(tmp_path, names, pattern):
    # MatchFilesFromMultiplePatterns, MatchShardedFilePattern, ...Wildcard, ...WithSuffix.
    for i, name in enumerate(names):
        (tmp_path / name).write_text("".join(f"{i}:{j}\n" for j in range(10)))
    total = 10 * len(names)
    y = ops.RecordYielder("text:" + pattern.format(d=tmp_path), buffer_size=16)
    records = _take(y, total)
    assert len(set(records)) == total
    assert y.epoch in (1, 2)
    next(y)
    assert y.epoch in (2, 3)


def test_bad_shard_count(tmp_path):
    with pytest.raises(ValueError, match="number of shards should be non-zero"):
        ops.RecordYielder(f"text:{tmp_path}/x@0")


def test_iota():
    # record_yielder_test Iota: 100 distinct values with buffer 16.
    y = ops.RecordYielder("iota:100", buffer_size=16)
    assert sorted(_take(y, 100)) == [b"%010d" % i for i in range(100)]
    endless = ops.RecordYielder("iota:", sequential=True)
    assert _take(endless, 5) == [b"%010d" % i for i in range(5)]


@pytest.mark.parametrize("n_files", [8, 3])
def test_shards_are_disjoint_and_cover(tmp_path, n_files):
    # 8 files over 4 shards: by file; 3 files over 4 shards: by record index.
    _tfrecord_files(tmp_path, n_files, 25)
    pattern = f"tfrecord:{tmp_path}/*.tfrecord"
    shards = [
        list(ops.RecordYielder(pattern, shard_index=s, shard_count=4, repeat_count=1, seed=5))
        for s in range(4)
    ]
    seen = collections.Counter(r for shard in shards for r in shard)
    assert sorted(seen) == [b"%010d" % k for k in range(n_files * 25)]
    assert set(seen.values()) == {1}
    assert all(shards)
    seq = [
        list(
            ops.RecordYielder(
                pattern, shard_index=s, shard_count=4, sequential=True, repeat_count=1
            )
        )
        for s in range(4)
    ]
    assert [sorted(s) for s in seq] == [sorted(s) for s in shards]
    with pytest.raises(ValueError, match="shard_index"):
        ops.RecordYielder(pattern, shard_index=4, shard_count=4)


def test_option_errors(tmp_path):
    _text_files(tmp_path, 1, 3)
    pattern = f"text:{tmp_path}/data-00.txt"
    for kwargs, message in [
        ({"repeat_count": 0}, "repeat_count"),
        ({"buffer_size": 0}, "buffer_size"),
        ({"parallelism": 0}, "parallelism"),
        ({"shard_count": 0}, "shard_count"),
    ]:
        with pytest.raises(ValueError, match=message):
            ops.RecordYielder(pattern, **kwargs)


def _mix_sources(tmp_path, sizes):
    patterns = []
    for i, size in enumerate(sizes):
        _text_files(tmp_path, 1, size, prefix=f"src{i}", name=f"src{i}-{{i}}.txt")
        patterns.append(f"text:{tmp_path}/src{i}-*.txt")
    return patterns


def test_mix_half_and_half(tmp_path):
    patterns = _mix_sources(tmp_path, [10000, 10000])
    y = ops.RecordYielder(patterns, [0.5, 0.5], seed=301, buffer_size=1000)
    records = _take(y, 20000)
    frac = sum(r.startswith(b"src0") for r in records) / len(records)
    assert abs(frac - 0.5) < 0.01
    assert len(records) - len(set(records)) < 0.01 * len(records)


def test_mix_weights_and_source_ids(tmp_path):
    patterns = _mix_sources(tmp_path, [10000, 10000])
    y = ops.RecordYielder(",".join(patterns), [0.3, 0.7], with_source_id=True)
    records = _take(y, 20000)
    frac0 = sum(r.startswith(b"src0") for r, _ in records) / len(records)
    assert abs(frac0 - 0.3) < 0.01
    assert sum(s for _, s in records) / len(records) == pytest.approx(0.7, abs=0.01)
    assert all((s == 0) == r.startswith(b"src0") for r, s in records)


def test_mix_source_id_offset(tmp_path):
    # input_common_test: per-pattern source ids are offset + i.
    patterns = _mix_sources(tmp_path, [50, 50, 50])
    y = ops.RecordYielder(patterns, [1, 1, 1], source_id_offset=9, with_source_id=True)
    pairs = _take(y, 300)
    assert {s for _, s in pairs} == {9, 10, 11}
    assert all(r.startswith(b"src%d" % (s - 9)) for r, s in pairs)


def test_mix_unequal_sizes_epochs(tmp_path):
    patterns = _mix_sources(tmp_path, [10000, 40000])
    y = ops.RecordYielder(patterns, [0.5, 0.5], buffer_size=1000)
    _take(y, 400000)
    small, large = y.source_epochs
    assert small in (20, 21)
    assert large in (5, 6)


def test_mix_zero_weight_never_picked(tmp_path):
    patterns = _mix_sources(tmp_path, [20, 20])
    y = ops.RecordYielder(patterns, [0.0, 1.0], with_source_id=True)
    assert {s for _, s in _take(y, 500)} == {1}


def test_mix_constructor_errors(tmp_path):
    patterns = _mix_sources(tmp_path, [5, 5])
    with pytest.raises(ValueError, match="2 yielders and 1 weights were provided"):
        ops.RecordYielder(patterns, [1.0])
    with pytest.raises(ValueError, match="at least one yielder"):
        ops.RecordYielder([], [])
    with pytest.raises(ValueError, match=r"greater or equal to zero\. Got -0\.1"):
        ops.RecordYielder(patterns, [1.1, -0.1])
    with pytest.raises(ValueError, match="sequential"):
        ops.RecordYielder(patterns, [1, 1], sequential=True)
    with pytest.raises(ValueError, match="need weights"):
        ops.RecordYielder(patterns)


def test_mix_ends_with_the_exhausted_source(tmp_path):
    patterns = _mix_sources(tmp_path, [30, 30])
    records = list(ops.RecordYielder(patterns, [1, 1], repeat_count=1))
    assert 30 <= len(records) < 60
    assert len(set(records)) == len(records)


def test_several_python_threads_share_one_yielder(tmp_path):
    _tfrecord_files(tmp_path, 6, 2000)
    y = ops.RecordYielder(f"tfrecord:{tmp_path}/*", repeat_count=1, parallelism=3)
    results = [[] for _ in range(4)]

    def consume(out):
        for r in y:
            out.append(r)

    threads = [threading.Thread(target=consume, args=(out,)) for out in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [r for out in results for r in out]
    assert sorted(everything) == [b"%010d" % k for k in range(12000)]
    y.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_reader_threads_stop_on_close_del_and_with(tmp_path):
    _tfrecord_files(tmp_path, 8, 2000)
    pattern = f"tfrecord:{tmp_path}/*"
    gc.collect()  # Yielders of earlier tests must not stop their threads mid-test.
    before = _threads_of_this_process()
    y = ops.RecordYielder(pattern, parallelism=4)
    next(y)
    assert _threads_of_this_process() > before
    y.close()
    assert _threads_of_this_process() == before
    assert y.closed
    with pytest.raises(ValueError, match="closed"):
        next(y)
    y.close()

    with ops.RecordYielder(pattern, parallelism=4) as y2:
        y2.next_batch(10)
    assert _threads_of_this_process() == before

    y3 = ops.RecordYielder(pattern, parallelism=4)
    next(y3)
    del y3
    assert _threads_of_this_process() == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_close_wakes_a_blocked_reader_thread(tmp_path):
    # A reader blocked on a FIFO leaves the consumer waiting; close() from
    # another thread must wake it with an error rather than leave it hanging.
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    y = ops.RecordYielder(f"text:{fifo}", sequential=True)
    writer = open(fifo, "wb")  # noqa: SIM115 - held open so the reader blocks.
    errors = []

    def consume():
        try:
            next(y)
        except ValueError as e:
            errors.append(e)

    consumer = threading.Thread(target=consume)
    consumer.start()
    closer = threading.Thread(target=y.close)
    closer.start()
    consumer.join(timeout=30)
    assert not consumer.is_alive()
    assert errors and "closed" in str(errors[0])
    writer.close()  # Lets the blocked reader thread finish so close() can join it.
    closer.join(timeout=30)
    assert not closer.is_alive()
