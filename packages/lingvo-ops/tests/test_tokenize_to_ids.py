"""Tests of tokenize_to_ids: a batch of lines split and looked up in one call."""

import numpy as np
import pytest

from lingvo import ops

LINES = ["<unk>", "<s>", "</s>", "the", "cat", "sat"]


@pytest.fixture()
def vocab():
    return ops.Vocabulary.from_lines(LINES)


def _split(ids, lengths):
    return [row.tolist() for row in np.split(ids, np.cumsum(lengths[:-1]))]


def test_ids_and_lengths_match_per_token_lookup(vocab):
    labels = [b"the cat sat", b"", b"  sat\tthe\n", "cat dog", b"the"]
    ids, lengths = ops.tokenize_to_ids(labels, vocab)
    assert ids.dtype == lengths.dtype == np.int32
    assert lengths.tolist() == [3, 0, 2, 2, 1]
    assert _split(ids, lengths) == [[3, 4, 5], [], [5, 3], [4, vocab.unk_id], [3]]
    for label, row in zip(labels, _split(ids, lengths), strict=True):
        words = label.split()
        assert row == (ops.vocab_token_to_id(words, vocab).tolist() if words else [])


def test_inputs_and_delimiter(tmp_path, vocab):
    path = tmp_path / "v.txt"
    path.write_text("\n".join(LINES) + "\n")
    array = np.array([b"cat,the", b"sat"], dtype=object)
    for v in (vocab, path, LINES):
        ids, lengths = ops.tokenize_to_ids(array, v, delimiter=",")
        assert _split(ids, lengths) == [[4, 3], [5]]
    # The default splits on whitespace only, so "cat,the" is one unknown token.
    ids, lengths = ops.tokenize_to_ids(array, vocab)
    assert _split(ids, lengths) == [[vocab.unk_id], [5]]
    ids, lengths = ops.tokenize_to_ids([], vocab)
    assert ids.shape == (0,) and lengths.shape == (0,)


def test_errors(vocab):
    with pytest.raises(TypeError, match="labels"):
        ops.tokenize_to_ids([b"the", 3], vocab)
    with pytest.raises(FileNotFoundError):
        ops.tokenize_to_ids([b"the"], "/nonexistent/vocab.txt")
