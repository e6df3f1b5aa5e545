"""Round trips of tf.Example TFRecord files through the writer and reader helpers."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import tf_example

EXAMPLES = [
    {"ids": [1, 2, 3], "score": 0.5, "text": "héllo", "raw": [b"a", b"bc"], "flag": True},
    {"ids": np.array([], np.int64), "score": [1.5, -2.0], "text": b"x", "raw": [], "flag": 0},
]


@pytest.mark.parametrize("gzip", [False, True])
def test_round_trip(tmp_path, gzip):
    path = str(tmp_path / "ex.tfrecord")
    examples = [dict(e) for e in EXAMPLES]
    examples[1]["raw"] = np.array([], dtype=object)
    with pytest.raises(ValueError, match="'raw'"):
        tf_example.WriteExamples(path, [EXAMPLES[1]], gzip=gzip)
    assert tf_example.WriteExamples(path, examples, gzip=gzip) == 2
    back = list(tf_example.ReadExamples(path, gzip=gzip))
    assert len(back) == 2
    np.testing.assert_array_equal(back[0]["ids"], [1, 2, 3])
    assert back[0]["ids"].dtype == np.int64
    np.testing.assert_allclose(back[1]["score"], [1.5, -2.0])
    assert back[0]["score"].dtype == np.float32
    assert back[0]["text"].tolist() == ["héllo".encode()]
    assert back[0]["raw"].tolist() == [b"a", b"bc"]
    assert back[0]["flag"].tolist() == [1] and back[1]["flag"].tolist() == [0]
    assert back[1]["ids"].size == 0 and back[1]["raw"].size == 0


def test_tf_reads_what_we_write_and_parse_example(tmp_path):
    path = str(tmp_path / "ex.tfrecord")
    tf_example.WriteExamples(path, [EXAMPLES[0]])
    (record,) = list(tf.data.TFRecordDataset(path))
    spec = tf_example.FeatureSpec(int64=["ids"], float32=["score"], string=["text", "raw"])
    parsed = tf_example.ParseExample(record, spec)
    np.testing.assert_array_equal(parsed["ids"], [1, 2, 3])
    assert parsed["raw"].numpy().tolist() == [b"a", b"bc"]
    assert tf_example.ExampleToDict(record.numpy())["score"].tolist() == [0.5]
    proto = tf_example.MakeExample({"x": 1})
    assert tf_example.ExampleToDict(proto)["x"].tolist() == [1]


def test_bad_features():
    with pytest.raises(ValueError, match=r"'m'.*1-D"):
        tf_example.MakeExample({"m": [[1, 2], [3, 4]]})
    with pytest.raises(ValueError, match="'c'"):
        tf_example.MakeExample({"c": [1 + 2j]})
