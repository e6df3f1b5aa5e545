"""Tests of the tokenizer layers against the reference vectors of Lingvo's tokenizer ops."""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import tokenizers

OPS_DATA = pathlib.Path(__file__).resolve().parents[2] / "lingvo-ops" / "tests" / "data"

ASCII_LABELS = [
    "hElLo",
    "sIr<epsilon>",
    "What a <unk> day",
    "america's",
    "<noise> early",
    "1:00 AM",
    "<text_only>morning",
]
ASCII_IDS = [
    [1, 12, 9, 16, 16, 19, 2, 2, 2, 2],
    [1, 23, 13, 22, 73, 2, 2, 2, 2, 2],
    [1, 27, 12, 5, 24, 3, 5, 3, 0, 3],
    [1, 5, 17, 9, 22, 13, 7, 5, 32, 23],
    [1, 4, 3, 9, 5, 22, 16, 29, 2, 2],
    [1, 40, 34, 39, 39, 3, 5, 17, 2, 2],
    [1, 74, 17, 19, 22, 18, 13, 18, 11, 2],
]
ASCII_LABEL_IDS = [
    [12, 9, 16, 16, 19, 2, 2, 2, 2, 2],
    [23, 13, 22, 73, 2, 2, 2, 2, 2, 2],
    [27, 12, 5, 24, 3, 5, 3, 0, 3, 2],
    [5, 17, 9, 22, 13, 7, 5, 32, 23, 2],
    [4, 3, 9, 5, 22, 16, 29, 2, 2, 2],
    [40, 34, 39, 39, 3, 5, 17, 2, 2, 2],
    [74, 17, 19, 22, 18, 13, 18, 11, 2, 2],
]
ASCII_PADDINGS = [6, 5, 10, 10, 8, 8, 9]  # unpadded positions per row, width 10

VOCAB = "<epsilon>\t0\n<S>\t1\n</S>\t2\n<UNK>\t3\nthe\t4\na\t5\nb\t6\nc\t7\nd\t8\ne\t9\n"


def _Unpadded(n, width=10):
    return [0.0] * n + [1.0] * (width - n)


def test_ascii_reference_vectors():
    tok = tokenizers.AsciiTokenizer.Params().Instantiate()
    ids, labels, paddings = tok.StringsToIds(tf.constant(ASCII_LABELS), 10)
    assert ids.dtype == tf.int32 and paddings.dtype == tf.float32
    assert ids.shape == [7, 10]
    np.testing.assert_array_equal(ids, ASCII_IDS)
    np.testing.assert_array_equal(labels, ASCII_LABEL_IDS)
    np.testing.assert_array_equal(paddings, [_Unpadded(n) for n in ASCII_PADDINGS])
    # Ascii truncation: cut to max_length - 1 characters, eos always kept.
    assert labels.numpy()[3, -1] == 2 and paddings.numpy()[3].sum() == 0
    strings = tok.IdsToStrings(labels, [5, 4, 9, 9, 7, 7, 1])
    assert strings.numpy().tolist() == [
        b"hello",
        b"sir<epsilon>",
        b"what a <unk> ",
        b"america's",
        b"<noise> early",
        b"1:00 am",
        b"<text_only>",
    ]


def test_ascii_no_eos_and_no_pad_to_max_length():
    tok = tokenizers.AsciiTokenizer.Params().Set(append_eos=False).Instantiate()
    _, _, paddings = tok.StringsToIds(ASCII_LABELS[:2], 10)
    np.testing.assert_array_equal(paddings, [_Unpadded(5), _Unpadded(4)])
    _, _, paddings = tok.StringsToIds(ASCII_LABELS[:2], 10, external_append_eos=True)
    np.testing.assert_array_equal(paddings, [_Unpadded(6), _Unpadded(5)])
    tok = tokenizers.AsciiTokenizer.Params().Set(pad_to_max_length=False).Instantiate()
    ids, _, paddings = tok.StringsToIds(ASCII_LABELS, 20)
    assert ids.shape == [7, 13]  # the longest row, "What a <unk> day" + eos
    np.testing.assert_array_equal(ids[2], [1, 27, 12, 5, 24, 3, 5, 3, 0, 3, 8, 5, 29])
    np.testing.assert_array_equal(paddings[2], [0] * 13)


def test_ascii_in_tf_function():
    tok = tokenizers.AsciiTokenizer.Params().Instantiate()

    @tf.function
    def Fn(s):
        ids, labels, paddings = tok.StringsToIds(s, 10)
        return ids, tok.IdsToStrings(labels, tf.cast(tf.reduce_sum(1 - paddings, 1) - 1, tf.int32))

    ids, strings = Fn(tf.constant(["hElLo"]))
    np.testing.assert_array_equal(ids, ASCII_IDS[:1])
    assert strings.numpy().tolist() == [b"hello"]


def test_vocab_file_reference_vectors(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text(VOCAB)
    tok = tokenizers.VocabFileTokenizer.Params().Set(token_vocab_filepath=str(path)).Instantiate()
    ids, labels, paddings = tok.StringsToIds(["a b c d e", "<epsilon> <S> </S> <UNK>"], 10)
    np.testing.assert_array_equal(
        ids, [[1, 5, 6, 7, 8, 9, 2, 2, 2, 2], [1, 0, 1, 2, 3, 2, 2, 2, 2, 2]]
    )
    np.testing.assert_array_equal(
        labels, [[5, 6, 7, 8, 9, 2, 2, 2, 2, 2], [0, 1, 2, 3, 2, 2, 2, 2, 2, 2]]
    )
    np.testing.assert_array_equal(paddings, [_Unpadded(6), _Unpadded(5)])
    # Vocabulary truncation: the row fills max_length, no eos, nothing padded.
    ids, labels, paddings = tok.StringsToIds(["a b c d e " * 100], 5)
    np.testing.assert_array_equal(ids, [[1, 5, 6, 7, 8]])
    np.testing.assert_array_equal(labels, [[5, 6, 7, 8, 9]])
    np.testing.assert_array_equal(paddings, [[0] * 5])
    strings = tok.IdsToStrings([[5, 6, 7, 0]], [3])
    assert strings.numpy().tolist() == [b"a b c"]


def test_vocab_file_errors(tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        tokenizers.VocabFileTokenizer.Params().Instantiate()
    bad = tmp_path / "bad.txt"
    bad.write_text("<S>\t1\n</S>\t2\n<UNK>\tx\n")
    with pytest.raises(ValueError, match=r"bad\.txt"):
        tokenizers.VocabFileTokenizer.Params().Set(token_vocab_filepath=str(bad)).Instantiate()


def _ToyWpm(tmp_path):
    pieces = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab", "\u2581ab"]
    path = tmp_path / "toy.voc"
    path.write_text("\n".join(pieces) + "\n", encoding="utf-8")
    return path


def test_wpm_toy_vocabulary(tmp_path):
    tok = tokenizers.WpmTokenizer.Params().Set(vocab_filepath=str(_ToyWpm(tmp_path))).Instantiate()
    ids, labels, paddings = tok.StringsToIds(["ab a", "b"], 5)
    # "▁ab" merges to 8 ("▁a"=6 first, then "▁a"+"b"=8); "▁a" is 6; "▁b" is 3 5.
    np.testing.assert_array_equal(ids, [[1, 8, 6, 2, 2], [1, 3, 5, 2, 2]])
    np.testing.assert_array_equal(labels, [[8, 6, 2, 2, 2], [3, 5, 2, 2, 2]])
    np.testing.assert_array_equal(paddings, [_Unpadded(3, 5), _Unpadded(3, 5)])
    assert tok.IdsToStrings(labels, [2, 2]).numpy().tolist() == [b"ab a", b"b"]
    ids, labels, paddings = tok.StringsToIds(["a a a a a a"], 4)  # cut: no eos
    np.testing.assert_array_equal(ids, [[1, 6, 6, 6]])
    np.testing.assert_array_equal(paddings, [[0, 0, 0, 0]])


@pytest.mark.skipif(not (OPS_DATA / "wpm-ende-2k.voc").exists(), reason="no ops test data")
def test_wpm_reference_vectors():
    tok = (
        tokenizers.WpmTokenizer.Params()
        .Set(vocab_filepath=str(OPS_DATA / "wpm-ende-2k.voc"))
        .Instantiate()
    )
    ids, labels, paddings = tok.StringsToIds(["Hello!", "Too much has changed.", ""], 6)
    np.testing.assert_array_equal(
        ids, [[1, 115, 276, 18, 66, 2], [1, 109, 251, 98, 595, 1009], [1, 2, 2, 2, 2, 2]]
    )
    np.testing.assert_array_equal(
        labels, [[115, 276, 18, 66, 2, 2], [109, 251, 98, 595, 1009, 245], [2] * 6]
    )
    np.testing.assert_array_equal(paddings, [[0, 0, 0, 0, 0, 1], [0] * 6, [0, 1, 1, 1, 1, 1]])
    assert tok.IdsToStrings(labels, [4, 0, 0]).numpy().tolist() == [b"Hello!", b"", b""]


def test_wpm_errors(tmp_path):
    with pytest.raises(ValueError, match="vocab_filepath is not set"):
        tokenizers.WpmTokenizer.Params().Instantiate()
    with pytest.raises(ValueError, match="merge_prob"):
        tokenizers.WpmTokenizer.Params().Set(
            vocab_filepath=str(_ToyWpm(tmp_path)), merge_prob=0.5
        ).Instantiate()
