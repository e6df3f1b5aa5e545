"""Tests of CRC32C and the TFRecord / text / iota record readers and the TFRecord writer."""

import gzip
import pathlib
import struct

import numpy as np
import pytest

from lingvo import ops
from lingvo.ops import _ops

TESTDATA = (
    pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "data" / "lingvo-testdata"
)


def _records(n):
    return [b"record %d " % i + b"x" * (i % 37) for i in range(n)]


def _write(path, records, gzip_=False):
    with ops.TFRecordWriter(str(path), gzip=gzip_) as w:
        for r in records:
            w.write(r)
    return path


@pytest.mark.parametrize("crc", [ops.crc32c, _ops._crc32c_portable])
def test_crc32c_known_vectors(crc):
    # The standard check value and the iSCSI (RFC 3720 B.4) vectors.
    assert crc(b"123456789") == 0xE3069283
    assert crc(b"") == 0
    assert crc(bytes(32)) == 0x8A9136AA
    assert crc(b"\xff" * 32) == 0x62A8AB43
    assert crc(bytes(range(32))) == 0x46DD794E
    assert crc(bytes(range(31, -1, -1))) == 0x113FDB5C


def test_crc32c_extends_and_accepts_buffers():
    data = bytes(np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8))
    whole = ops.crc32c(data)
    for cut in (0, 1, 7, 8, 9, 500, 999, 1000):
        assert ops.crc32c(data[cut:], ops.crc32c(data[:cut])) == whole
        assert _ops._crc32c_portable(data[cut:], _ops._crc32c_portable(data[:cut])) == whole
    assert ops.crc32c(bytearray(data)) == whole
    assert ops.crc32c(memoryview(data)) == whole
    assert ops.crc32c(np.frombuffer(data, np.uint8)) == whole
    with pytest.raises(TypeError, match="bytes-like"):
        ops.crc32c("text")


def test_masked_crc32c():
    c = ops.crc32c(b"123456789")
    assert ops.masked_crc32c(b"123456789") == ((((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def test_writer_layout_is_tfrecord(tmp_path):
    path = _write(tmp_path / "one.tfrecord", [b"hello"])
    raw = path.read_bytes()
    length = struct.pack("<Q", 5)
    expected = (
        length
        + struct.pack("<I", ops.masked_crc32c(length))
        + b"hello"
        + struct.pack("<I", ops.masked_crc32c(b"hello"))
    )
    assert raw == expected


@pytest.mark.parametrize("compressed", [False, True])
def test_written_records_read_back(tmp_path, compressed):
    records = [*_records(500), b"", b"\x00\xff" * 70000]
    path = _write(tmp_path / "data.tfrecord", records, compressed)
    fmt = "tfrecord_gzip" if compressed else "tfrecord"
    assert ops.read_records(str(path), fmt) == records
    if compressed:
        assert gzip.decompress(path.read_bytes())[:8] == struct.pack("<Q", len(records[0]))


def test_writer_write_many_close_and_errors(tmp_path):
    w = ops.TFRecordWriter(str(tmp_path / "m.tfrecord"))
    assert w.write_many(iter([b"a", bytearray(b"b"), memoryview(b"c")])) == 3
    w.close()
    w.close()
    assert w.closed
    with pytest.raises(OSError, match="closed"):
        w.write(b"d")
    assert ops.read_records(str(tmp_path / "m.tfrecord")) == [b"a", b"b", b"c"]
    with pytest.raises(FileNotFoundError):
        ops.TFRecordWriter(str(tmp_path / "missing-dir" / "x.tfrecord"))


def _offsets(records):
    offsets, pos = [], 0
    for r in records:
        offsets.append(pos)
        pos += 16 + len(r)
    return offsets


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda off, n: off + 3, "corrupted record at byte offset {off}: length checksum"),
        (lambda off, n: off + 12 + n // 2, "corrupted record at byte offset {off}: data checksum"),
        (lambda off, n: off + 12 + n + 1, "corrupted record at byte offset {off}: data checksum"),
    ],
)
def test_corrupt_record_raises_with_file_and_offset(tmp_path, where, message):
    records = _records(20)
    path = _write(tmp_path / "bad.tfrecord", records)
    raw = bytearray(path.read_bytes())
    off = _offsets(records)[7]
    raw[where(off, len(records[7]))] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(ops.DataLossError, match=message.format(off=off)) as info:
        ops.read_records(str(path))
    assert str(path) in str(info.value)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize("cut", [1, 11, 12, 20, 100])
def test_truncated_file_raises_with_file_and_offset(tmp_path, cut):
    records = _records(10)
    path = _write(tmp_path / "short.tfrecord", records)
    raw = path.read_bytes()
    last = _offsets(records)[-1]
    path.write_bytes(raw[: last + min(cut, 12 + len(records[-1]) + 3)])
    with pytest.raises(ops.DataLossError, match=f"truncated record at byte offset {last}") as info:
        ops.read_records(str(path))
    assert str(path) in str(info.value)


def test_truncated_gzip_raises(tmp_path):
    path = _write(tmp_path / "short.tfrecord.gz", _records(2000), gzip_=True)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ops.DataLossError, match=r"short\.tfrecord\.gz") as info:
        ops.read_records(str(path), "tfrecord_gzip")
    assert "offset" in str(info.value)


def test_plain_file_read_as_gzip_raises(tmp_path):
    path = _write(tmp_path / "plain.tfrecord", _records(3))
    with pytest.raises(ops.DataLossError, match="not gzip-compressed"):
        ops.read_records(str(path), "tfrecord_gzip")


def test_corrupt_record_in_yielder_is_raised_not_skipped(tmp_path):
    _write(tmp_path / "a.tfrecord", _records(50))
    bad = _write(tmp_path / "b.tfrecord", _records(50))
    raw = bytearray(bad.read_bytes())
    off = _offsets(_records(50))[30]
    raw[off + 14] ^= 1
    bad.write_bytes(bytes(raw))
    y = ops.RecordYielder(f"tfrecord:{tmp_path}/*.tfrecord", sequential=True, repeat_count=1)
    got = []
    with pytest.raises(
        ops.DataLossError, match=f"b.tfrecord'?: corrupted record at byte offset {off}"
    ):
        for r in y:
            got.append(r)
    # Everything before the bad record came out, in order; nothing after it.
    assert got == _records(50) + _records(30)
    with pytest.raises(ops.DataLossError):  # The error sticks.
        next(y)
    y.close()


def test_text_lines(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes(b"first\r\nsec\rond\n\nlast without newline")
    assert ops.read_records(str(path), "text") == [
        b"first",
        b"second",
        b"",
        b"last without newline",
    ]
    path.write_bytes(b"a\nb\n")
    assert ops.read_records(str(path), "text") == [b"a", b"b"]
    long_line = b"y" * 700_000
    path.write_bytes(b"x\n" + long_line + b"\nz")
    assert ops.read_records(str(path), "text") == [b"x", long_line, b"z"]


def test_iota_records():
    assert ops.read_records("5", "iota") == [b"%010d" % i for i in range(5)]


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.tfrecord"):
        ops.read_records(str(tmp_path / "nothing.tfrecord"))
    with pytest.raises(ValueError, match="Unable to create a record reader for format 'csv'"):
        ops.read_records(str(tmp_path / "x"), "csv")


@pytest.mark.skipif(not TESTDATA.is_dir(), reason="shared/data/lingvo-testdata not present")
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("en_fr.tfrecord", 2),
        ("wmt14_ende_wpm_32k_test.tfrecord", 100),
        ("translate_ende_wmt32k-train-00511-of-00512", 8941),
    ],
)
def test_lingvo_testdata_tfrecords(name, count):
    # Files written by TensorFlow's writer; the counts are tf.data.TFRecordDataset's.
    records = ops.read_records(str(TESTDATA / name))
    assert len(records) == count
    # A tf.Example proto starts with field 1 (features), wire type 2.
    assert all(r[:1] == b"\x0a" for r in records)
    y = ops.RecordYielder(f"tfrecord:{TESTDATA / name}", sequential=True, repeat_count=1)
    assert list(y) == records
