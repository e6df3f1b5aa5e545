"""Tests of edit_distance against a pure-Python Levenshtein and Lingvo's WER goldens."""

import random
import threading

import numpy as np
import pytest

from lingvo import ops

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the test extra.
    given = None


def reference_counts(hyp, ref):
    """(substitutions, insertions, deletions, ref_length) by the textbook DP.

    Ties between alignments of equal cost resolve as Lingvo's levenshtein_distance does:
    substitution/match when strictly cheaper than both others, else deletion when strictly
    cheaper than insertion, else insertion.
    """
    # Each cell: (total, subs, ins, dels); rows over ref, columns over hyp.
    prev = [(j, 0, j, 0) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, 0, i)]
        for j in range(1, len(hyp) + 1):
            differ = ref[i - 1] != hyp[j - 1]
            sub = prev[j - 1][0] + differ
            ins = cur[j - 1][0] + 1
            dele = prev[j][0] + 1
            if sub < ins and sub < dele:
                _, s, n, d = prev[j - 1]
                cur.append((sub, s + differ, n, d))
            elif dele < ins:
                _, s, n, d = prev[j]
                cur.append((dele, s, n, d + 1))
            else:
                _, s, n, d = cur[j - 1]
                cur.append((ins, s, n + 1, d))
        prev = cur
    _, s, n, d = prev[-1]
    return (s, n, d, len(ref))


def _levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def _rows(counts):
    return [tuple(int(v) for v in row) for row in zip(*counts, strict=True)]


def test_lingvo_levenshtein_goldens():
    ref = "a b c d e f g h"
    # Lingvo's EditDistance(ref, hyp) returns (ins, subs, dels, total).
    cases = [
        (ref, "a b c d e f g h", (0, 0, 0, 0)),
        (ref, "a b d e f g h", (0, 0, 1, 1)),
        (ref, "a b c d e f g h i", (1, 0, 0, 1)),
        (ref, "a b c i e f g h", (0, 1, 0, 1)),
        ("a b c d e f g j h", "a b c i d e f g h", (1, 0, 1, 2)),
        ("a b c d e f g j h", "a b c i e f g h k", (1, 1, 1, 3)),
        ("", "", (0, 0, 0, 0)),
        ("", "a b c", (3, 0, 0, 3)),
        ("a b c d", "", (0, 0, 4, 4)),
    ]
    refs = [c[0] for c in cases]
    hyps = [c[1] for c in cases]
    got = ops.edit_distance(hyps, refs)
    for k, (_, _, (ins, subs, dels, total)) in enumerate(cases):
        assert got.insertions[k] == ins
        assert got.substitutions[k] == subs
        assert got.deletions[k] == dels
        assert got.errors[k] == total
        assert got.ref_lengths[k] == len(refs[k].split())


def test_compute_wer_goldens():
    # Lingvo's ComputeWer: [errors, ref words] per pair.
    def wer(hyps, refs):
        c = ops.edit_distance(hyps, refs)
        return np.stack([c.errors, c.ref_lengths], axis=1).tolist()

    assert wer(["one"], ["one"]) == [[0, 1]]
    assert wer(["one two"], ["one two"]) == [[0, 2]]
    assert wer(["one", "two pigs"], ["one", "three pink pigs"]) == [[0, 1], [2, 3]]
    assert wer(
        ["one  two", " one two ", "two\tpigs"], ["one two", "one two", "three pink pigs"]
    ) == [
        [0, 2],
        [0, 2],
        [2, 3],
    ]
    assert wer(["", "one two", ""], ["", "", "three four five"]) == [[0, 0], [2, 0], [3, 3]]
    assert wer(["ONE two"], ["one two"]) == [[1, 2]]


def test_char_level_counts_code_points():
    # "é" is 2 UTF-8 bytes and "😀" 4, but each is one character.
    got = ops.edit_distance(
        ["héllo", "😀a", "", "abc", "日本語"], ["hello", "a", "xy", "", "日本"], "char"
    )
    assert _rows(got) == [(1, 0, 0, 5), (0, 1, 0, 1), (0, 0, 2, 2), (0, 3, 0, 0), (0, 1, 0, 2)]
    # bytes are UTF-8 too; a byte that is not valid UTF-8 is a token of its own.
    got = ops.edit_distance([b"h\xc3\xa9llo", b"a\xffb"], ["hello", b"ab"], level="char")
    assert _rows(got) == [(1, 0, 0, 5), (0, 1, 0, 2)]
    # Spaces are characters.
    assert _rows(ops.edit_distance(["a b"], ["ab"], "char")) == [(0, 1, 0, 2)]


def test_word_level_unicode_whitespace_and_case():
    got = ops.edit_distance(["le\u3000chat\u00a0noir", "Straße"], ["le chat noir", "strasse"])
    assert _rows(got) == [(0, 0, 0, 3), (1, 0, 0, 1)]


def test_id_sequences():
    hyps = [np.array([1, 2, 3]), [4, 5], np.array([], np.int32), (7,)]
    refs = [np.array([1, 3], np.int32), [4, 5, 6], [1, 2], np.array([8], np.uint8)]
    got = ops.edit_distance(hyps, refs)
    assert _rows(got) == [(0, 1, 0, 2), (0, 0, 1, 3), (0, 0, 2, 2), (1, 0, 0, 1)]
    matrix = np.array([[1, 2], [3, 4]])
    assert _rows(ops.edit_distance(matrix, matrix[::-1])) == [(2, 0, 0, 2), (2, 0, 0, 2)]


def test_empty_batch():
    got = ops.edit_distance([], [])
    assert got.errors.shape == (0,)
    assert got.substitutions.dtype == np.int64


def test_errors():
    with pytest.raises(ValueError, match="same batch size"):
        ops.edit_distance(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="level"):
        ops.edit_distance(["a"], ["a"], level="byte")
    with pytest.raises(ValueError, match="single str"):
        ops.edit_distance("a b", "a b")
    with pytest.raises(TypeError, match=r"refs\[0\]"):
        ops.edit_distance(["a"], [[1, 2]])
    with pytest.raises(TypeError, match=r"hyps\[1\]"):
        ops.edit_distance(["a", 3], ["a", "b"])
    with pytest.raises(TypeError, match="integer"):
        ops.edit_distance([[1.5]], [[1]])
    with pytest.raises(ValueError, match="1-D"):
        ops.edit_distance([[[1]]], [[1]])
    with pytest.raises(ValueError):
        ops.edit_distance(["\ud800"], ["a"])


def _random_sentence(rng, vocab, n):
    return " ".join(rng.choice(vocab) for _ in range(n))


def test_random_cases_match_reference():
    rng = random.Random(7)
    vocab = ["a", "b", "c", "dd", "é", "日本", "x"]
    hyps, refs = [], []
    for _ in range(400):
        refs.append(_random_sentence(rng, vocab, rng.randint(0, 9)))
        hyps.append(_random_sentence(rng, vocab, rng.randint(0, 9)))
    for level, split in (("word", str.split), ("char", list)):
        got = _rows(ops.edit_distance(hyps, refs, level))
        want = [reference_counts(split(h), split(r)) for h, r in zip(hyps, refs, strict=True)]
        assert got == want
        for (s, i, d, _), h, r in zip(got, hyps, refs, strict=True):
            assert s + i + d == _levenshtein(split(h), split(r))


def test_releases_the_gil():
    # Several Python threads at once get the same answers as one.
    rng = random.Random(3)
    vocab = list("abcdefgh")
    hyps = [_random_sentence(rng, vocab, 30) for _ in range(300)]
    refs = [_random_sentence(rng, vocab, 30) for _ in range(300)]
    want = _rows(ops.edit_distance(hyps, refs))
    results = []

    def work():
        results.append(_rows(ops.edit_distance(hyps, refs)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [want] * 4


if given is not None:
    _TEXT = st.text(alphabet=st.sampled_from("ab é\t😀\u3000x"), max_size=12)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.tuples(_TEXT, _TEXT), max_size=6), st.sampled_from(["word", "char"]))
    def test_fuzz_text_matches_reference(pairs, level):
        hyps = [h for h, _ in pairs]
        refs = [r for _, r in pairs]
        split = str.split if level == "word" else list
        got = _rows(ops.edit_distance(hyps, refs, level))
        assert got == [reference_counts(split(h), split(r)) for h, r in pairs]

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=12)), max_size=6))
    def test_fuzz_bytes_decode_like_surrogateescape(pairs):
        def tokens(b):
            return list(b.decode("utf-8", "surrogateescape"))

        got = _rows(ops.edit_distance([h for h, _ in pairs], [r for _, r in pairs], "char"))
        assert got == [reference_counts(tokens(h), tokens(r)) for h, r in pairs]
        words = _rows(ops.edit_distance([h for h, _ in pairs], [r for _, r in pairs], "word"))
        want = [
            reference_counts(
                h.decode("utf-8", "surrogateescape").split(),
                r.decode("utf-8", "surrogateescape").split(),
            )
            for h, r in pairs
        ]
        assert words == want

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.lists(st.integers(-(2**63), 2**63 - 1), max_size=10),
                st.lists(st.integers(-3, 3), max_size=10),
            ),
            max_size=6,
        )
    )
    def test_fuzz_ids_match_reference(pairs):
        got = _rows(ops.edit_distance([h for h, _ in pairs], [r for _, r in pairs]))
        assert got == [reference_counts(h, r) for h, r in pairs]
