"""VocabFileTokenizer's in-graph path (`lookup_in_graph`) gives exactly the kernel's outputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import tokenizers

WORDS = ["a", "b", "cat", "dog", "x\ty", "é", "ü", "<unk>"]
# Pieces the sentences are made of: known and unknown words, runs of blanks, non-ASCII bytes.
PIECES = [*WORDS, "zzz", "", " ", "  ", "\t", "\r", "\n", "\v", "é", ",", "a,b", "日本"]


def _Sentences(count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = [b"", b" ", b"a", b"\t\t", b"a b cat dog a b", b"\xff\xfe a \xc3", b"a \n\n b"]
    for _ in range(count):
        n = int(rng.integers(0, 14))
        seps = [" ", "  ", ",", " , "]
        words = [PIECES[i] for i in rng.integers(0, len(PIECES), size=n)]
        out.append(
            "".join(w + seps[int(rng.integers(0, len(seps)))] for w in words).encode("utf-8")
        )
    return out


def _Vocab(tmp_path, with_ids: bool) -> str:
    lines = ["<s>", "</s>", "<unk>", "a", "b", "cat", "dog", "é", ",", "a,b", "cat"]
    if with_ids:
        # Ids out of line order; "cat" appears twice: the kernel decides which id wins.
        lines = [f"{w}\t{100 + 7 * i}" for i, w in enumerate(lines)]
    path = tmp_path / ("ids.txt" if with_ids else "vocab.txt")
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return str(path)


def _Both(vocab: str, with_ids: bool, **kwargs):
    def Make(in_graph: bool):
        return (
            tokenizers.VocabFileTokenizer.Params()
            .Set(
                name=f"tok_{in_graph}",
                token_vocab_filepath=vocab,
                load_token_ids_from_vocab=with_ids,
                lookup_in_graph=in_graph,
                **kwargs,
            )
            .Instantiate()
        )

    return Make(True), Make(False)


@pytest.mark.parametrize(
    "with_ids,delimiter,pad,append_eos,maxlen",
    [
        (with_ids, delimiter, pad, append_eos, maxlen)
        for with_ids, delimiter, (pad, append_eos), maxlen in itertools.product(
            [False, True], [" ", " ,", ""], [(True, True), (False, True), (False, False)], [1, 4, 9]
        )
    ],
)
def test_in_graph_equals_kernel(tmp_path, with_ids, delimiter, pad, append_eos, maxlen):
    vocab = _Vocab(tmp_path, with_ids)
    fast, kernel = _Both(
        vocab, with_ids, tokens_delimiter=delimiter, pad_to_max_length=pad, append_eos=append_eos
    )
    strs = _Sentences(60, seed=maxlen + 10 * len(delimiter))
    got = [np.asarray(x) for x in fast.StringsToIds(strs, maxlen)]
    want = [np.asarray(x) for x in kernel.StringsToIds(strs, maxlen)]
    for name, g, w in zip(("ids", "labels", "paddings"), got, want, strict=True):
        assert g.dtype == w.dtype, name
        np.testing.assert_array_equal(g, w, err_msg=f"{name} for {strs!r}")
    # One string at a time takes the per-record path (no ragged tensors): the same outputs.
    for s in strs[:16]:
        got = [np.asarray(x) for x in fast.StringsToIds([s], maxlen)]
        want = [np.asarray(x) for x in kernel.StringsToIds([s], maxlen)]
        for name, g, w in zip(("ids", "labels", "paddings"), got, want, strict=True):
            np.testing.assert_array_equal(g, w, err_msg=f"{name} for {s!r}")
        scalar = [np.asarray(x) for x in fast.StringsToIds(tf.constant(s), maxlen)]
        np.testing.assert_array_equal(scalar[0], want[0], err_msg=f"scalar {s!r}")


def test_in_graph_runs_inside_tf_data_in_parallel(tmp_path):
    vocab = _Vocab(tmp_path, with_ids=False)
    fast, kernel = _Both(vocab, False, pad_to_max_length=False)
    strs = _Sentences(40, seed=3)

    def Tokenize(s):
        ids, labels, paddings = fast.StringsToIds(tf.reshape(s, [1]), 6)
        return ids[0], labels[0], paddings[0]

    ds = tf.data.Dataset.from_tensor_slices(strs).map(Tokenize, num_parallel_calls=4)
    for s, (ids, labels, paddings) in zip(strs, ds.as_numpy_iterator(), strict=True):
        want = [np.asarray(x)[0] for x in kernel.StringsToIds([s], 6)]
        np.testing.assert_array_equal(ids, want[0])
        np.testing.assert_array_equal(labels, want[1])
        np.testing.assert_array_equal(paddings, want[2])


def test_known_values(tmp_path):
    fast, _ = _Both(_Vocab(tmp_path, with_ids=False), False, pad_to_max_length=True)
    ids, labels, paddings = fast.StringsToIds([b"cat  a\tzzz", b"a b a b a"], 4)
    # <s>=0, </s>=1, <unk>=2, a=3, b=4; "cat" is on lines 5 and 10 and the later line wins,
    # as in the kernel; "a\tzzz" is one unknown token.
    np.testing.assert_array_equal(ids, [[0, 10, 2, 1], [0, 3, 4, 3]])
    np.testing.assert_array_equal(labels, [[10, 2, 1, 1], [3, 4, 3, 4]])
    np.testing.assert_array_equal(paddings, [[0, 0, 0, 1], [0, 0, 0, 0]])


def test_bad_max_length(tmp_path):
    fast, _ = _Both(_Vocab(tmp_path, with_ids=False), False)
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        fast.StringsToIds([b"a"], 0)
