"""Tests of the file-reading input generators: batches, evaluation passes, shards."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import base_input_generator, run_mode, tf_example, tokenizers
from lingvo.core.nested_map import NestedMap

SENTENCES = [
    "hello world",
    "a",
    "the quick brown fox",
    "jumps",
    "over the lazy dog again and again",
    "ok",
    "lingvo",
    "tf two",
    "bucketing works",
    "z",
]


class _TextInput(base_input_generator.BaseSequenceInputGenerator):
    """Tokenizes `src`/`tgt` string features of tf.Examples with the default tokenizer."""

    def _ProcessRecord(self, record):
        f = tf_example.ParseExample(
            record, tf_example.FeatureSpec(string=["src", "tgt"], int64=["index"])
        )
        src_ids, _, src_paddings = self.StringsToIds(f["src"], is_source=True)
        tgt_ids, tgt_labels, tgt_paddings = self.StringsToIds(f["tgt"])
        src_len = tf.cast(tf.reduce_sum(1.0 - src_paddings[0]), tf.int32)
        tgt_len = tf.cast(tf.reduce_sum(1.0 - tgt_paddings[0]), tf.int32)
        example = NestedMap(
            src=NestedMap(ids=src_ids[0, :src_len], paddings=src_paddings[0, :src_len]),
            tgt=NestedMap(
                ids=tgt_ids[0, :tgt_len],
                labels=tgt_labels[0, :tgt_len],
                paddings=tgt_paddings[0, :tgt_len],
                weights=1.0 - tgt_paddings[0, :tgt_len],
            ),
            index=f["index"][0],
        )
        return example, tf.maximum(src_len, tgt_len)


def _Write(path):
    tf_example.WriteExamples(
        str(path),
        [{"src": s, "tgt": s.upper(), "index": i} for i, s in enumerate(SENTENCES)],
    )


def _Params(path, **kw):
    p = _TextInput.Params().Set(
        file_pattern=f"tfrecord:{path}",
        bucket_upper_bound=[6, 12, 40],
        bucket_batch_limit=[3, 2, 2],
        source_max_length=40,
        target_max_length=40,
    )
    return p.Set(**kw)


def test_abstract_generators_refuse_to_build():
    for cls in (
        base_input_generator.BaseInputGenerator,
        base_input_generator.BaseInputGeneratorFromFiles,
        base_input_generator.BaseSequenceInputGenerator,
    ):
        with pytest.raises(NotImplementedError, match="abstract"):
            cls.Params().Instantiate()


def test_eval_pass_exactly_once_in_file_order(tmp_path):
    _Write(tmp_path / "d.tfrecord")
    gen = _Params(tmp_path / "d.tfrecord", resettable=True).Instantiate()
    assert gen.sequential and gen.ShardInfo() == (0, 1)
    for _ in range(2):  # two passes, each complete
        batches = list(gen)
        order = [int(i) for b in batches for i in b.index.numpy()]
        assert sorted(order) == list(range(len(SENTENCES)))
        # First-fit: within a bucket, records keep file order.
        for b in batches:
            assert list(b.index.numpy()) == sorted(b.index.numpy())
    # GetPreprocessedInputBatch runs one pass, then OutOfRange until Reset.
    got = []
    with pytest.raises(tf.errors.OutOfRangeError):
        for _ in range(100):
            got += list(gen.GetPreprocessedInputBatch().index.numpy())
    assert sorted(got) == list(range(len(SENTENCES)))
    gen.Reset()
    assert gen.GetPreprocessedInputBatch().bucket_keys.shape[0] >= 1


def test_eval_mode_reads_sequentially(tmp_path):
    _Write(tmp_path / "d.tfrecord")
    with run_mode.EvalMode():
        gen = _Params(tmp_path / "d.tfrecord").Instantiate()
    assert gen.sequential
    assert gen.CommonInputOpArgs()["repeat_count"] == 1


def test_batches_match_records(tmp_path):
    _Write(tmp_path / "d.tfrecord")
    gen = _Params(tmp_path / "d.tfrecord", require_sequential_order=True).Instantiate()
    tok = gen.tokenizer
    assert isinstance(tok, tokenizers.AsciiTokenizer)
    for batch in gen:
        width = batch.tgt.ids.shape[1]
        for row, index in enumerate(batch.index.numpy()):
            text = SENTENCES[index]
            n = len(text) + 1
            ids, labels, _ = tok.StringsToIds([text.upper()], 40)
            np.testing.assert_array_equal(batch.tgt.ids[row, :n], ids[0, :n])
            np.testing.assert_array_equal(batch.tgt.labels[row, :n], labels[0, :n])
            np.testing.assert_array_equal(batch.tgt.ids[row, n:], 0)
            np.testing.assert_array_equal(batch.tgt.labels[row, n:], 0)
            np.testing.assert_array_equal(batch.tgt.paddings[row], [0] * n + [1] * (width - n))
            np.testing.assert_array_equal(batch.tgt.weights[row], [1] * n + [0] * (width - n))
            assert batch.bucket_keys[row] == n
            text_back = gen.IdsToStrings(batch.tgt.labels[row : row + 1], [n - 1])
            assert text_back.numpy()[0] == text.encode()


def test_pad_to_max_seq_length(tmp_path):
    _Write(tmp_path / "d.tfrecord")
    gen = _Params(
        tmp_path / "d.tfrecord", resettable=True, pad_to_max_seq_length=True
    ).Instantiate()
    for batch in gen:
        assert batch.src.ids.shape[1] == 40 and batch.tgt.paddings.shape[1] == 40
        assert batch.tgt.paddings.numpy()[:, -1].tolist() == [1.0] * batch.tgt.ids.shape[0]


def test_training_input_repeats_and_shards(tmp_path):
    for f in range(2):
        tf_example.WriteExamples(
            str(tmp_path / f"part-{f}.tfrecord"),
            [
                {"src": SENTENCES[i], "tgt": SENTENCES[i], "index": f * 10 + i}
                for i in range(len(SENTENCES))
            ],
        )
    pattern = str(tmp_path / "part-*.tfrecord")

    def Read(**kw):
        gen = _Params(pattern, **kw).Instantiate()
        assert not gen.sequential
        batches = itertools.islice(iter(gen), 40)  # endless: bounded
        return [int(i) for b in batches for i in b.index.numpy()]

    endless = Read(file_buffer_size=4)
    assert len(endless) > 20 and set(endless) == set(range(20))  # repeats epochs

    shards = [Read(repeat_count=1, shard_index=s, num_shards=2) for s in range(2)]
    assert not set(shards[0]) & set(shards[1])
    assert sorted(shards[0] + shards[1]) == list(range(20))


def test_training_shards_from_tf_config(tmp_path, monkeypatch):
    _Write(tmp_path / "d.tfrecord")
    monkeypatch.setenv(
        "TF_CONFIG",
        '{"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 1}}',
    )
    assert _Params(tmp_path / "d.tfrecord").Instantiate().ShardInfo() == (1, 2)
    assert _Params(tmp_path / "d.tfrecord", resettable=True).Instantiate().ShardInfo() == (0, 1)
    with pytest.raises(ValueError, match="shard_index 3"):
        _Params(tmp_path / "d.tfrecord", shard_index=3, num_shards=2).Instantiate().ShardInfo()


def test_bad_params(tmp_path):
    with pytest.raises(ValueError, match="file_pattern is not set"):
        _ = _Params("").Set(file_pattern="").Instantiate().dataset
    with pytest.raises(ValueError, match="differ in length"):
        _Params("x", bucket_batch_limit=[1]).Instantiate()
    gen = _Params(tmp_path / "d.tfrecord").Instantiate()
    with pytest.raises(ValueError, match="no tokenizer 'src'"):
        gen.StringsToIds(["a"], key="src")


def test_tokenizer_dict(tmp_path):
    p = _Params(tmp_path / "d.tfrecord")
    p.tokenizer_dict = {"src": tokenizers.AsciiTokenizer.Params().Set(append_eos=False)}
    gen = p.Instantiate()
    assert sorted(gen.tokenizer_dict) == ["default", "src"]
    _, _, paddings = gen.StringsToIds(["ab"], is_source=True, key="src")
    assert paddings.numpy()[0, :3].tolist() == [0, 0, 1]
