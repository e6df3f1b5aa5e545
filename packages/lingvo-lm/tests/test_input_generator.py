"""Tests of `LmInput`: Lingvo's ASCII fixture, word counts, empty and over-long lines."""

import numpy as np

from lingvo.tasks.lm import input_generator


def test_ascii_fixture_matches_lingvo(lmt):
    gen = lmt.InputParams().Instantiate()
    batch = gen.GetPreprocessedInputBatch()
    # "Don 't !" (8 chars + eos) and "Why does everything" cut to 19 chars + eos.
    np.testing.assert_array_equal(
        batch.ids.numpy(),
        [
            [1, 8, 19, 18, 3, 32, 24, 3, 35] + [2] * 11,
            [1, 27, 12, 29, 3, 8, 19, 9, 23, 3, 9, 26, 9, 22, 29, 24, 12, 13, 18, 11],
        ],
    )
    np.testing.assert_array_equal(batch.weights.numpy(), [[1] * 9 + [0] * 11, [1] * 20])
    np.testing.assert_array_equal(batch.paddings.numpy(), 1.0 - batch.weights.numpy())
    # The bucket key is the word count (Lingvo's TF2 quirk), for the whole line.
    assert batch.word_count.numpy().tolist() == [3, 11]
    assert batch.bucket_keys.numpy().tolist() == [3, 11]
    np.testing.assert_array_equal(batch.labels.numpy()[0, :9], [8, 19, 18, 3, 32, 24, 3, 35, 2])


def test_empty_and_too_long_lines_are_skipped_and_counted(lmt, tmp_path):
    path = tmp_path / "text.txt"
    lines = ["a b", "", "   ", "one two three four five six", "c", "", "x y z"]
    path.write_text("\n".join(lines) + "\n")
    p = lmt.InputParams(bucket=5, limit=100, max_length=16, path=path)
    gen = p.Instantiate()
    counts = [int(n) for b in gen for n in b.word_count.numpy()]
    assert counts == [2, 1, 3]
    assert gen.InputStats() == {
        "num_empty_lines": 3,
        "num_too_long_lines": 1,
        "num_kept_lines": 3,
    }


def test_word_level_tokenizer_and_fixed_shape(lmt):
    p = lmt.InputParams(limit=4, max_length=12, fixed_input_shape=True)
    p.tokenizer = lmt.WordTokenizer()
    gen = p.Instantiate()
    batch = gen.GetPreprocessedInputBatch()
    assert batch.ids.shape == (4, 12)
    # "Don 't !": every word but 't is out of the small vocabulary.
    assert batch.ids.numpy()[0, :5].tolist() == [1, 3, 5, 3, 2]
    assert isinstance(gen, input_generator.LmInput)


def test_skipped_lines_reach_the_training_metrics(lmt, tmp_path):
    import tensorflow as tf

    from lingvo.core import run_mode

    path = tmp_path / "text.txt"
    # The batch of two is complete only after the last line: every skip is counted by then.
    path.write_text("a b\n\n" + " ".join(["w"] * 9) + "\n  \nc d\n")
    p = lmt.CharLmParams(lmt.InputParams(bucket=5, limit=2, max_length=16, path=path))
    task = p.Instantiate()
    step = tf.function(task.TrainStep, autograph=False)
    batch = task.GetInputBatch()
    metrics, _ = step(batch)
    assert float(metrics["num_empty_lines"][0]) == 2.0
    assert float(metrics["num_too_long_lines"][0]) == 1.0
    assert float(metrics["num_too_long_lines"][1]) == 1.0
    with run_mode.EvalMode():
        eval_metrics, _ = task.FPropDefaultTheta(batch)
    assert "num_empty_lines" not in eval_metrics


def test_bad_word_vocabulary_is_refused_naming_the_line(lmt, tmp_path):
    import pytest

    def Build(lines):
        path = tmp_path / "vocab.txt"
        path.write_text("".join(f"{w}\t{i}\n" for i, w in enumerate(lines)))
        p = lmt.InputParams()
        p.tokenizer = lmt.WordTokenizer().Set(token_vocab_filepath=str(path), vocab_size=8)
        return p.Instantiate()

    specials = ["<epsilon>", "<S>", "</S>", "<UNK>"]
    with pytest.raises(ValueError, match=r"vocab.txt:6: duplicate token 'dog', first on line 5"):
        Build([*specials, "dog", "dog"])
    with pytest.raises(ValueError, match=r"vocab.txt:1: expected the special token '<epsilon>'"):
        Build(["dog", "cat"])
    with pytest.raises(ValueError, match=r"vocab.txt:4: expected the special token '<UNK>'"):
        Build([*specials[:3], "dog"])
    gen = Build([*specials, "dog", "cat"])
    ids, _, _ = gen.StringsToIds(["cat dog bird"])
    assert ids.numpy()[0, :4].tolist() == [1, 5, 4, 3]
