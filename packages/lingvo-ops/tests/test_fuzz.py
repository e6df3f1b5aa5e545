"""Property-based fuzzing of the record readers and the ASCII tokenizer.

Corrupt input must raise a documented exception (DataLossError for a bad or truncated
record), never crash or hang. Files are small and every iteration is bounded.
"""

import itertools
import os
import tempfile

import numpy as np
import pytest

from lingvo import ops

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Bounds every read of a yielder: a file holds at most a few dozen records.
_MAX_RECORDS = 1000


def _write(path, records, gzip=False):
    with ops.TFRecordWriter(path, gzip=gzip) as writer:
        for record in records:
            writer.write(record)


def _read_with_yielder(pattern):
    with ops.RecordYielder(pattern, sequential=True, repeat_count=1) as yielder:
        # islice: a yielder is an iterator that may not end, so never list() it.
        return list(itertools.islice(yielder, _MAX_RECORDS))


_RECORDS = st.lists(st.binary(max_size=40), max_size=5)


@st.composite
def _mutations(draw):
    """A list of edits (kind, position, byte) for a file's bytes."""
    kinds = st.sampled_from(["flip", "set", "insert", "delete", "truncate"])
    return draw(
        st.lists(
            st.tuples(kinds, st.integers(0, 10_000), st.integers(0, 255)),
            min_size=1,
            max_size=4,
        )
    )


def _mutate(data, edits):
    data = bytearray(data)
    for kind, position, byte in edits:
        if not data and kind != "insert":
            continue
        k = position % max(len(data), 1)
        if kind == "flip":
            data[k] ^= 1 << (byte % 8)
        elif kind == "set":
            data[k] = byte
        elif kind == "insert":
            data[k:k] = bytes([byte])
        elif kind == "delete":
            del data[k]
        else:
            del data[k:]
    return bytes(data)


@pytest.fixture(scope="module")
def scratch_dir():
    with tempfile.TemporaryDirectory() as d:
        yield d


@_SETTINGS
@given(data=st.binary(max_size=300), gzip=st.booleans())
def test_random_bytes(scratch_dir, data, gzip):
    path = os.path.join(scratch_dir, "random.tfrecord")
    with open(path, "wb") as f:
        f.write(data)
    fmt = "tfrecord_gzip" if gzip else "tfrecord"
    try:
        records = ops.read_records(path, fmt)
    except ops.DataLossError as e:
        assert path in str(e)
        records = None
    if records is not None:
        assert all(isinstance(r, bytes) for r in records)
    try:
        yielded = _read_with_yielder(f"{fmt}:{path}")
    except ops.DataLossError:
        assert records is None
    else:
        # Sequential, one epoch: the yielder reads exactly what read_records does.
        assert records is not None and yielded == records


@_SETTINGS
@given(records=_RECORDS, edits=_mutations(), gzip=st.booleans())
def test_mutated_files(scratch_dir, records, edits, gzip):
    path = os.path.join(scratch_dir, "mutated.tfrecord")
    _write(path, records, gzip=gzip)
    with open(path, "rb") as f:
        original = f.read()
    mutated = _mutate(original, edits)
    with open(path, "wb") as f:
        f.write(mutated)
    fmt = "tfrecord_gzip" if gzip else "tfrecord"
    try:
        got = ops.read_records(path, fmt)
    except ops.DataLossError as e:
        assert "mutated.tfrecord" in str(e)
        got = None
    else:
        if not gzip:
            # Every record is CRC-checked, so an accepted plain file is whole records of
            # the original: a prefix of them after a truncation at a record boundary.
            assert got == records[: len(got)]
    try:
        yielded = _read_with_yielder(f"{fmt}:{path}")
    except ops.DataLossError:
        assert got is None
    else:
        assert yielded == got


@_SETTINGS
@given(records=_RECORDS)
def test_valid_files_round_trip(scratch_dir, records):
    path = os.path.join(scratch_dir, "valid.tfrecord")
    _write(path, records)
    assert ops.read_records(path) == records
    assert _read_with_yielder(f"tfrecord:{path}") == records


_TABLE_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ", max_size=20)


@_SETTINGS
@given(labels=st.lists(st.one_of(st.text(max_size=30), st.binary(max_size=30)), max_size=5))
def test_ascii_to_token_ids_any_text(labels):
    ids, targets, paddings = ops.ascii_to_token_ids(labels, maxlen=16)
    assert ids.shape == targets.shape == paddings.shape == (len(labels), 16)
    assert ids.dtype == np.int32 and paddings.dtype == np.float32
    assert ((ids >= 0) & (ids < 76)).all() and ((targets >= 0) & (targets < 76)).all()
    assert np.isin(paddings, [0.0, 1.0]).all()


@_SETTINGS
@given(labels=st.lists(_TABLE_TEXT, min_size=1, max_size=5), upper=st.booleans())
def test_ascii_round_trip(labels, upper):
    text = [s.upper() if upper else s for s in labels]
    _, targets, paddings = ops.ascii_to_token_ids(text, maxlen=32)
    lengths = (1.0 - paddings).sum(axis=1).astype(np.int64) - 1  # Without </s>.
    assert ops.id_to_ascii(targets, lengths).tolist() == [s.encode() for s in labels]


@_SETTINGS
@given(
    ids=st.lists(st.lists(st.integers(-(2**40), 2**40), min_size=6, max_size=6), max_size=4),
    data=st.data(),
)
def test_id_to_ascii_any_ids(ids, data):
    token_ids = np.array(ids, dtype=np.int64).reshape(len(ids), 6)
    lengths = np.array(
        data.draw(st.lists(st.integers(-3, 6), min_size=len(ids), max_size=len(ids)))
    )
    out = ops.id_to_ascii(token_ids, lengths.astype(np.int64))
    assert out.shape == (len(ids),)
    assert all(isinstance(s, bytes) for s in out)
    too_long = np.full(len(ids), 7, np.int64)
    if len(ids):
        with pytest.raises(ValueError):
            ops.id_to_ascii(token_ids, too_long)
