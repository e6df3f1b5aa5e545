"""Tests of the tf.data GenericInput over the lingvo-ops record yielder."""

import itertools
import json

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import generic_input, tf_example
from lingvo.core.nested_map import NestedMap

BOUNDS = [3, 6, 9]
LIMITS = [4, 3, 2]


def _WriteLengths(path, n=40):
    """Record i holds ids 1..len_i with len_i = 1 + i % 9, and its index."""
    records = [{"ids": np.arange(1, 2 + i % 9), "index": i} for i in range(n)]
    tf_example.WriteExamples(str(path), records)
    return records


def _Processor(record):
    f = tf_example.ParseExample(record, tf_example.FeatureSpec(int64=["ids", "index"]))
    ids = tf.cast(f["ids"], tf.int32)
    n = tf.shape(ids)[0]
    example = NestedMap(
        ids=ids,
        labels=ids + 100,
        weights=tf.ones([n]),
        paddings=tf.zeros([n]),
        index=f["index"][0],
    )
    return example, n


def _Batches(ds, limit=1000):
    return [(b, k.numpy()) for b, k in itertools.islice(ds, limit)]


@pytest.mark.parametrize("batcher", generic_input.BATCHERS)
def test_padded_batches_and_bucket_boundaries(tmp_path, batcher):
    records = _WriteLengths(tmp_path / "d.tfrecord")
    ds = generic_input.GenericInput(
        _Processor,
        file_pattern=f"tfrecord:{tmp_path / 'd.tfrecord'}",
        bucket_upper_bound=BOUNDS,
        bucket_batch_limit=LIMITS,
        require_sequential_order=True,
        repeat_count=1,
        batcher=batcher,
    )
    seen = []
    for batch, keys in _Batches(ds):
        assert isinstance(batch, NestedMap)
        bucket = int(np.searchsorted(BOUNDS, keys.max()))
        lo = BOUNDS[bucket - 1] if bucket else 0
        assert all(lo < k <= BOUNDS[bucket] for k in keys), keys
        assert len(keys) <= LIMITS[bucket]
        width = batch.ids.shape[1]
        assert width == keys.max()
        for row, index in enumerate(batch.index.numpy()):
            n = len(records[index]["ids"])
            assert keys[row] == n
            np.testing.assert_array_equal(batch.ids[row, :n], records[index]["ids"])
            np.testing.assert_array_equal(batch.ids[row, n:], 0)
            np.testing.assert_array_equal(batch.labels[row, n:], 0)
            np.testing.assert_array_equal(batch.weights[row], [1] * n + [0] * (width - n))
            np.testing.assert_array_equal(batch.paddings[row], [0] * n + [1] * (width - n))
        seen += list(batch.index.numpy())
    assert sorted(seen) == list(range(40))


def test_sequential_order_is_file_order_first_fit(tmp_path):
    _WriteLengths(tmp_path / "d.tfrecord", n=12)
    ds = generic_input.GenericInput(
        _Processor,
        file_pattern=f"tfrecord:{tmp_path / 'd.tfrecord'}",
        bucket_upper_bound=[9],
        bucket_batch_limit=[5],
        require_sequential_order=True,
        repeat_count=1,
    )
    batches = _Batches(ds)
    assert [list(b.index.numpy()) for b, _ in batches] == [
        [0, 1, 2, 3, 4],
        [5, 6, 7, 8, 9],
        [10, 11],
    ]
    # Every pass (iteration) restarts at the first record.
    assert [list(b.index.numpy()) for b, _ in _Batches(ds)] == [
        list(b.index.numpy()) for b, _ in batches
    ]


def test_drops_negative_and_too_large_keys(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"{'x' * (1 + i % 7)}\n" for i in range(30)))

    def Proc(record):
        n = tf.strings.length(record)
        key = tf.where(n == 2, -1, n)  # length 2 dropped by key, 7 by the last bound
        return NestedMap(text=record), key

    drops = generic_input.DropCounter("test")
    ds = generic_input.GenericInput(
        Proc,
        file_pattern=f"text:{path}",
        bucket_upper_bound=[3, 6],
        bucket_batch_limit=[2, 2],
        require_sequential_order=True,
        repeat_count=1,
        drop_counter=drops,
    )
    lengths = sorted(len(t) for b, _ in _Batches(ds) for t in b.text.numpy())
    assert lengths == sorted(1 + i % 7 for i in range(30) if 1 + i % 7 not in (2, 7))
    # Nothing disappears unnoticed: 30 records = kept + dropped by key + dropped by bound.
    lengths_of = [1 + i % 7 for i in range(30)]
    assert drops.Counts() == {
        "dropped_negative": lengths_of.count(2),
        "dropped_too_large": lengths_of.count(7),
    }


def test_source_id_processor_and_weights(tmp_path):
    (tmp_path / "a.txt").write_text("a\n" * 50)
    (tmp_path / "b.txt").write_text("b\n" * 50)

    def Proc(source_id, record):
        return NestedMap(source_id=source_id, text=record), 1

    ds = generic_input.GenericInput(
        Proc,
        file_pattern=f"text:{tmp_path / 'a.txt'},text:{tmp_path / 'b.txt'}",
        input_source_weights=[0.5, 0.5],
        bucket_upper_bound=[1],
        bucket_batch_limit=[10],
        file_buffer_size=10,
    )
    for batch, _ in _Batches(ds, limit=5):
        for sid, text in zip(batch.source_id.numpy(), batch.text.numpy(), strict=True):
            assert text == (b"a" if sid == 0 else b"b")


def test_list_examples_and_pad_values(tmp_path):
    (tmp_path / "x.txt").write_text("ab\nabcd\n")

    def Proc(record):
        chars = tf.strings.bytes_split(record)
        return [chars, tf.ones([tf.size(chars)], tf.int32)], tf.size(chars)

    ds = generic_input.GenericInput(
        Proc,
        file_pattern=f"text:{tmp_path / 'x.txt'}",
        bucket_upper_bound=[10],
        bucket_batch_limit=[2],
        require_sequential_order=True,
        repeat_count=1,
        pad_values=(0, 7),
    )
    ((batch, keys),) = _Batches(ds)
    assert isinstance(batch, tuple)
    np.testing.assert_array_equal(batch[1], [[1, 1, 7, 7], [1, 1, 1, 1]])
    np.testing.assert_array_equal(keys, [2, 4])


def test_shards_are_disjoint_and_cover(tmp_path):
    for f in range(3):
        tf_example.WriteExamples(
            str(tmp_path / f"part-{f}.tfrecord"), [{"index": f * 100 + i} for i in range(7)]
        )

    def Proc(record):
        f = tf_example.ParseExample(record, tf_example.FeatureSpec(int64=["index"]))
        return NestedMap(index=f["index"][0]), 1

    def Read(shard, count, pattern):
        ds = generic_input.GenericInput(
            Proc,
            file_pattern=pattern,
            bucket_upper_bound=[1],
            bucket_batch_limit=[4],
            repeat_count=1,
            shard_index=shard,
            num_shards=count,
        )
        return [int(i) for b, _ in _Batches(ds) for i in b.index.numpy()]

    everything = sorted(f * 100 + i for f in range(3) for i in range(7))
    for pattern, count in [
        (f"tfrecord:{tmp_path}/part-*.tfrecord", 2),
        (
            f"tfrecord:{tmp_path}/part-0.tfrecord,{tmp_path}/part-1.tfrecord,"
            f"{tmp_path}/part-2.tfrecord",
            5,
        ),
    ]:
        shards = [Read(s, count, pattern) for s in range(count)]
        flat = [i for s in shards for i in s]
        assert len(flat) == len(set(flat))
        assert sorted(flat) == everything


def test_shard_from_tf_config():
    cfg = {"cluster": {"chief": ["h:1"], "worker": ["h:2", "h:3"]}, "task": {}}
    assert generic_input.ShardFromTfConfig("") == (0, 1)
    cfg["task"] = {"type": "chief", "index": 0}
    assert generic_input.ShardFromTfConfig(json.dumps(cfg)) == (0, 3)
    cfg["task"] = {"type": "worker", "index": 1}
    assert generic_input.ShardFromTfConfig(json.dumps(cfg)) == (2, 3)
    cfg["task"] = {"type": "evaluator", "index": 0}
    assert generic_input.ShardFromTfConfig(json.dumps(cfg)) == (0, 1)
    cfg["task"] = {"type": "worker", "index": 5}
    with pytest.raises(ValueError, match="worker:5"):
        generic_input.ShardFromTfConfig(json.dumps(cfg))


def test_bad_arguments(tmp_path):
    (tmp_path / "x.txt").write_text("a\n")
    kw = dict(file_pattern=f"text:{tmp_path / 'x.txt'}", repeat_count=1)
    ok = dict(bucket_upper_bound=[1], bucket_batch_limit=[1])
    with pytest.raises(ValueError, match="not sorted"):
        generic_input.GenericInput(
            lambda r: (NestedMap(r=r), 1),
            bucket_upper_bound=[3, 2],
            bucket_batch_limit=[1, 1],
            **kw,
        )
    with pytest.raises(ValueError, match="type prefix"):
        generic_input.GenericInput(
            lambda r: (NestedMap(r=r), 1), file_pattern=str(tmp_path / "x.txt"), **ok
        )
    with pytest.raises(ValueError, match="source_id"):
        generic_input.GenericInput(lambda a, b: (NestedMap(r=b), 1), **ok, **kw)
    with pytest.raises(ValueError, match=r"\(example, bucket_key\)"):
        generic_input.GenericInput(lambda r: NestedMap(r=r), **ok, **kw)
    with pytest.raises(ValueError, match="integer scalar"):
        generic_input.GenericInput(lambda r: (NestedMap(r=r), [1, 2]), **ok, **kw)
    with pytest.raises(
        ValueError, match=r"glob '.*nothing-\*' of file pattern .* matches no files"
    ):
        generic_input.GenericInput(
            lambda r: (NestedMap(r=r), 1), **ok, file_pattern=f"text:{tmp_path}/nothing-*"
        )
    with pytest.raises(ValueError, match="has type 'txt'; expected one of tfrecord"):
        generic_input.GenericInput(
            lambda r: (NestedMap(r=r), 1), **ok, file_pattern=f"txt:{tmp_path}/x.txt"
        )


def test_pad_batch_to_length():
    batch = NestedMap(
        src=NestedMap(ids=tf.ones([2, 3], tf.int32), paddings=tf.zeros([2, 3])),
        tgt=NestedMap(ids=tf.ones([2, 2], tf.int32)),
        lens=tf.zeros([2]),
    )
    out = generic_input.PadBatchToLength(batch, {"src": 5, "tgt": 4})
    assert out.src.ids.shape == [2, 5] and out.tgt.ids.shape == [2, 4]
    np.testing.assert_array_equal(out.src.paddings[0], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(out.src.ids[0], [1, 1, 1, 0, 0])
    assert out.lens.shape == [2]
