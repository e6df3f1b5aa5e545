"""Tests of the word-piece tools: NMT record layout, counted drops, the vocabulary learner."""

import io
import os

import numpy as np
import pytest
import tensorflow as tf

from lingvo import ops
from lingvo.core import tf_example
from lingvo.tasks.mt.tools import synthetic_corpus, wpm_encode, wpm_learn

VOC = os.path.join(os.path.dirname(__file__), "data", "wpm-ende-2k.voc")


def _Write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_serialize_example_matches_tensorflow():
    features = {
        "source_id": np.array([5, 300, 70000, 2], np.int64),
        "source_padding": np.zeros(4, np.float32),
        "target_weight": np.array([1.0, 0.5], np.float32),
        "source_word": ["\u2581Hallo", "</s>"],
        "empty_ids": np.zeros(0, np.int64),
    }
    ours = tf.train.Example.FromString(wpm_encode.SerializeExample(features))
    theirs = tf_example.MakeExample({k: v for k, v in features.items() if k != "empty_ids"})
    got = tf_example.ExampleToDict(ours)
    want = tf_example.ExampleToDict(theirs)
    assert sorted(got) == sorted([*want, "empty_ids"])
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)
    assert got["empty_ids"].size == 0


def test_records_have_lingvos_nmt_layout(tmp_path):
    src = _Write(tmp_path / "a.en", ["Hello!", "Too much has changed."])
    tgt = _Write(tmp_path / "a.de", ["Hallo!", "Dafür hat sich zu viel verändert."])
    out = str(tmp_path / "out" / "a.tfrecords")
    stats = wpm_encode.EncodeFiles(src, tgt, VOC, out, progress_every=0)
    assert (stats.lines, stats.written, stats.empty, stats.too_long) == (2, 2, 0, 0)
    records = list(tf_example.ReadExamples(out))
    wpm = ops.WordPieceModel(VOC)
    first = records[0]
    hello = wpm.encode("Hello!").tolist()
    assert hello == [115, 276, 18, 66]  # lingvo-ops' documented ids for this vocabulary.
    assert first["source_id"].tolist() == [*hello, 2]
    hallo = wpm.encode("Hallo!").tolist()
    assert first["target_id"].tolist() == [1, *hallo]
    assert first["target_label"].tolist() == [*hallo, 2]
    for rec in records:
        s, t = len(rec["source_id"]), len(rec["target_id"])
        assert rec["source_padding"].tolist() == [0.0] * s
        assert rec["target_padding"].tolist() == [0.0] * t
        assert rec["target_weight"].tolist() == [1.0] * t
        assert rec["source_word"][-1] == b"</s>" and len(rec["source_word"]) == s
        assert rec["target_word"][0] == b"<s>" and len(rec["target_word"]) == t
        assert rec["natural_order"].tolist() == [1]
        assert rec["source_id"].dtype == np.int64 and rec["source_padding"].dtype == np.float32
    assert (
        wpm.decode(records[1]["target_label"][:-1]) == "Dafür hat sich zu viel verändert.".encode()
    )


def test_empty_too_long_and_unknown_are_counted_and_reported(tmp_path):
    src = _Write(tmp_path / "b.en", ["a b", "", "ok", "one two three four five six", "x 日本"])
    tgt = _Write(tmp_path / "b.de", ["c d", "leer", "  ", "kurz", "y"])
    out = str(tmp_path / "b.tfrecords")
    progress = io.StringIO()
    stats = wpm_encode.EncodeFiles(
        src, tgt, VOC, out, max_length=6, progress_every=2, progress_stream=progress
    )
    assert stats.lines == 5
    assert stats.empty == 2  # An empty source and a blank target.
    assert (stats.too_long, stats.too_long_source, stats.too_long_target) == (1, 1, 0)
    assert stats.written == 2 == len(list(tf_example.ReadExamples(out)))
    assert stats.unk_pieces == 2 and stats.unk_lines == 1
    assert stats.unknown_chars == {"日": 1, "本": 1}
    summary = stats.Summary()
    assert "dropped 2 pairs with an empty side" in summary
    assert "dropped 1 pairs over the maximum length (1 source, 0 target)" in summary
    assert "2 unknown characters mapped to <unk> in 1 pairs" in summary
    assert "'日' (U+65E5)" in summary
    assert "records/s" in progress.getvalue() and progress.getvalue().count("\n") == 2


def test_files_of_different_lengths_are_an_error(tmp_path):
    src = _Write(tmp_path / "c.en", ["a", "b", "c"])
    tgt = _Write(tmp_path / "c.de", ["a", "b"])
    with pytest.raises(ValueError, match=r"c\.de has 2 lines but .*c\.en has more"):
        wpm_encode.EncodeFiles(src, tgt, VOC, str(tmp_path / "c.tfrecords"), progress_every=0)


def test_command_line(tmp_path, capsys):
    src = _Write(tmp_path / "d.en", ["The dog sleeps."] * 5)
    tgt = _Write(tmp_path / "d.de", ["Der Hund schläft."] * 5)
    out = tmp_path / "d.tfrecords"
    argv = [
        f"--source={src}",
        f"--target={tgt}",
        f"--vocab={VOC}",
        f"--out={out}",
        "--progress_every=2",
        "--max_length=4",
    ]
    assert wpm_encode.main(argv) == 0
    err = capsys.readouterr().err
    assert "records/s" in err and "5 pairs read, 0 records written" in err
    assert "dropped 5 pairs over the maximum length" in err
    with pytest.raises(SystemExit):
        wpm_encode.main(
            [
                f"--source={tmp_path / 'missing'}",
                f"--target={tgt}",
                f"--vocab={VOC}",
                f"--out={out}",
            ]
        )
    assert "no such file" in capsys.readouterr().err
    short = _Write(tmp_path / "short.de", ["Der Hund schläft."])
    assert (
        wpm_encode.main([f"--source={src}", f"--target={short}", f"--vocab={VOC}", f"--out={out}"])
        == 1
    )
    assert "same number of lines" in capsys.readouterr().err


def test_records_feed_nmt_input(tmp_path):
    input_generator = pytest.importorskip("lingvo.tasks.mt.input_generator")
    pairs = synthetic_corpus.Generate(20, seed=1)
    out = str(tmp_path / "e.tfrecords")
    wpm_encode.EncodePairs(pairs, VOC, out, progress_every=0)
    p = input_generator.NmtInput.Params().Set(
        file_pattern=f"tfrecord:{out}",
        file_random_seed=1,
        file_buffer_size=1,
        file_parallelism=1,
        require_sequential_order=True,
        bucket_upper_bound=[100],
        bucket_batch_limit=[4],
    )
    batch = p.Instantiate().GetPreprocessedInputBatch()
    wpm = ops.WordPieceModel(VOC)
    src = batch.src.ids.numpy()[0]
    n = int(np.sum(1 - batch.src.paddings.numpy()[0]))
    assert src[:n].tolist() == [*wpm.encode(pairs[0][0]).tolist(), 2]
    assert batch.tgt.ids.numpy()[0, 0] == 1


def test_learned_vocabulary_is_valid_deterministic_and_covers_the_text(tmp_path):
    pairs = synthetic_corpus.Generate(300, seed=1)
    lines = [en for en, _ in pairs] + [de for _, de in pairs]
    pieces = wpm_learn.LearnVocab(lines, vocab_size=400, progress_every=0)
    assert pieces == wpm_learn.LearnVocab(lines, vocab_size=400, progress_every=0)
    assert pieces[:4] == ["<unk>", "<s>", "</s>", "\u2581"]
    assert len(pieces) == 400 == len(set(pieces))
    assert all(p and "\n" not in p and "\t" not in p and " " not in p for p in pieces)
    path = str(tmp_path / "learned.voc")
    wpm_learn.WriteVocab(path, pieces)
    wpm = ops.WordPieceModel(path)
    assert len(wpm) == 400
    total = 0
    for line in lines[:50]:
        ids = wpm.encode(line)
        assert 0 not in ids.tolist()  # Every character of the training text is a piece.
        assert wpm.decode(ids).decode() == line
        total += len(ids)
    # Merges shorten the text well below one piece per character.
    assert total < 0.5 * sum(len(line) for line in lines[:50])
    # The learned file encodes the corpus into records.
    stats = wpm_encode.EncodePairs(pairs, path, str(tmp_path / "f.tfrecords"), progress_every=0)
    assert stats.written == 300 and stats.unk_pieces == 0


def test_learner_command_line_and_errors(tmp_path, capsys):
    text = _Write(tmp_path / "t.txt", ["low lower lowest", "new newer newest"] * 20)
    out = tmp_path / "t.voc"
    assert wpm_learn.main([f"--input={text}", f"--out={out}", "--vocab_size=30"]) == 0
    assert "wrote" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8").splitlines()[:3] == ["<unk>", "<s>", "</s>"]
    with pytest.raises(ValueError, match="vocab_size must exceed 4"):
        wpm_learn.LearnVocab(["a"], vocab_size=4)
    with pytest.raises(ValueError, match="no words"):
        wpm_learn.LearnVocab(["   "], vocab_size=10)
    # A vocabulary too small for every character keeps the most frequent ones.
    pieces = wpm_learn.LearnVocab(["aaa b c"], vocab_size=5, progress_stream=io.StringIO())
    assert pieces == ["<unk>", "<s>", "</s>", "\u2581", "a"]
