"""Tests of the decoder output files and the attention image summary."""

import os

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import decoder_outputs


def test_round_trip_and_layout(tmp_path):
    examples = [
        ("a b c", "a b d", -1.25),
        (b"tab\there", "new\nline \\ back", 3.0),
        ("", "", float("-inf")),
    ]
    path = decoder_outputs.WriteDecoderOutputs(str(tmp_path), "Test", 1200, examples)
    assert path == os.path.join(str(tmp_path), "decoder_Test", "decoder_out_000001200")
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0] == "a b c\ta b d\t-1.25"
    assert len(lines) == 4 and lines[-1] == ""
    got = decoder_outputs.ReadDecoderOutputs(path)
    assert got[0] == ("a b c", "a b d", -1.25)
    assert got[1] == ("tab\there", "new\nline \\ back", 3.0)
    assert got[2].score == float("-inf")
    assert not os.path.exists(path + ".tmp")


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad"
    path.write_text("a\tb\t1.0\nonly two\tfields\n")
    with pytest.raises(ValueError, match=r"bad:2: expected 3"):
        decoder_outputs.ReadDecoderOutputs(str(path))
    path.write_text("a\tb\tnope\n")
    with pytest.raises(ValueError, match="is not a number"):
        decoder_outputs.ReadDecoderOutputs(str(path))


def test_attention_image_summary(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    atten = np.random.default_rng(0).random([2, 4, 5]).astype(np.float32)
    with writer.as_default():
        assert decoder_outputs.AttentionImageSummary("atten", atten, step=3)
    writer.flush()
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path))
