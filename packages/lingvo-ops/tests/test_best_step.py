"""Tests of best_step against Lingvo's BestStep expectations."""

import logging
import pathlib
import struct

import numpy as np
import pytest

from lingvo import ops

_DATA = pathlib.Path(__file__).parent / "data"


def test_history_txt():
    out = ops.best_step(_DATA / "history.txt")
    assert out.dtype == np.int64
    assert out.tolist() == [42122, 42792]


def test_history_txt_with_tolerance():
    assert ops.best_step(str(_DATA / "history.txt"), tol=0.1).tolist() == [37553, 42792]


def test_history_bleu_maximized():
    out = ops.best_step(_DATA / "history_bleu.txt", minimize=False)
    assert out.tolist() == [41500, 46800]


def test_no_history(caplog, tmp_path):
    with caplog.at_level(logging.WARNING, logger="lingvo.ops"):
        assert ops.best_step("").tolist() == [0, 0]
        assert ops.best_step(tmp_path / "missing.txt").tolist() == [0, 0]
        assert ops.best_step(str(tmp_path / "events.out.tfevents.*")).tolist() == [0, 0]
    assert "no history" in caplog.text


def test_step_zero_never_sticks_and_first_value_wins(tmp_path):
    hist = tmp_path / "h.txt"
    hist.write_text("0 0.5\n10 3.0\n5 2.0\n10 1.0\n20 2.5\n")
    # Steps ascending: 0, 5 (2.0), 10 (3.0, the first value), 20 (2.5): 5 is best.
    assert ops.best_step(hist).tolist() == [5, 20]
    assert ops.best_step(hist, minimize=False).tolist() == [10, 20]


@pytest.mark.parametrize("line", ["10  1.0", "10\t1.0", "10", "x 1.0", "10 1.0 2", "10 abc"])
def test_malformed_line(tmp_path, line):
    hist = tmp_path / "h.txt"
    hist.write_text(f"1 2.0\n{line}\n")
    with pytest.raises(ValueError, match=r"h\.txt:2"):
        ops.best_step(hist)


def test_negative_tol():
    with pytest.raises(ValueError, match="tol"):
        ops.best_step(_DATA / "history.txt", tol=-1)


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, wire_type, payload):
    key = _varint(number << 3 | wire_type)
    if wire_type == 2:
        return key + _varint(len(payload)) + payload
    return key + payload


def _event(step, values, wall_time=1.5):
    """An Event proto: wall_time (1), step (2), summary (5) of Value(tag 1, simple_value 2)."""
    summary = b"".join(
        _field(1, 2, _field(1, 2, tag.encode()) + _field(2, 5, struct.pack("<f", v)))
        for tag, v in values
    )
    return (
        _field(1, 1, struct.pack("<d", wall_time))
        + _field(2, 0, _varint(step))
        + _field(5, 2, summary)
    )


def _write_events(path, events):
    with ops.TFRecordWriter(str(path)) as writer:
        # The file_version event TF writes first has no summary.
        writer.write(_field(1, 1, struct.pack("<d", 1.0)) + _field(3, 2, b"brain.Event:2"))
        for event in events:
            writer.write(event)


def test_event_files(tmp_path):
    _write_events(
        tmp_path / "events.out.tfevents.1.host",
        [
            _event(100, [("bleu/dev", 0.1), ("loss", 9.0)]),
            _event(200, [("loss", 8.0)]),
            _event(300, [("bleu/dev", 0.3)]),
        ],
    )
    _write_events(
        tmp_path / "events.out.tfevents.2.host",
        [
            _event(300, [("bleu/dev", 0.9)]),  # Step 300 was seen first: ignored.
            _event(400, [("bleu/dev", 0.2)]),
            _event(2**40, [("other", 1.0)]),
        ],
    )
    pattern = str(tmp_path / "events.out.tfevents.*")
    assert ops.best_step(pattern, minimize=False, metric="bleu/dev").tolist() == [300, 400]
    assert ops.best_step(pattern, metric="loss").tolist() == [200, 200]
    assert ops.best_step(pattern, metric="other").tolist() == [2**40, 2**40]
    assert ops.best_step(pattern, metric="absent").tolist() == [0, 0]


def test_corrupt_event_files(tmp_path):
    path = tmp_path / "events.out.tfevents.1.host"
    _write_events(path, [_event(100, [("m", 1.0)])])
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ops.DataLossError):
        ops.best_step(str(path), metric="m")
    # A record with valid CRCs but a broken proto.
    with ops.TFRecordWriter(str(path)) as writer:
        writer.write(_field(5, 2, b"\x0a\x05ab"))
    with pytest.raises(ValueError, match="malformed Event proto"):
        ops.best_step(str(path), metric="m")
