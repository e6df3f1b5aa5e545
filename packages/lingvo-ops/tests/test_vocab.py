"""Tests of Vocabulary and its lookups against Lingvo's simple_vocab reference vectors."""

import pathlib

import numpy as np
import pytest

from lingvo import ops

DATA = pathlib.Path(__file__).resolve().parent / "data"

# simple_vocab_test.py's vocabulary, as lines (Lingvo's `vocab` attribute).
LINES = ["<S>", "</S>", "<UNK>", "<epsilon>", "a", "b c d e", "øut", "über", "♣", "愤青", "←"]
LINES_WITH_IDS = [
    "<S>\t3",
    "</S>\t5",
    "<UNK>\t7",
    "<epsilon>\t9",
    "a\t2",
    "b c d e\t4",
    "øut\t8",
    "über\t10",
    "♣\t-1",
    "愤青\t-3",
    "←\t-5",
]


def _write(tmp_path, text, name="vocab.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


class TestVocabularyFile:
    def test_line_ids(self, tmp_path):
        vocab = ops.Vocabulary(_write(tmp_path, "\n".join(LINES) + "\n"))
        assert len(vocab) == 11
        assert (vocab.sos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2)
        assert vocab.unk_token == b"<UNK>"
        assert vocab.sow_id is None and vocab.eow_id is None
        assert not vocab.load_token_ids_from_vocab
        assert vocab.path == str(tmp_path / "vocab.txt").encode()
        assert "a" in vocab and b"b c d e" in vocab and "b" not in vocab

    def test_loaded_ids(self):
        vocab = ops.Vocabulary(DATA / "test_vocab.txt", load_token_ids_from_vocab=True)
        assert (vocab.sos_id, vocab.eos_id, vocab.unk_id) == (1, 2, 3)
        assert ops.vocab_token_to_id(["the", "愤青", "nope"], vocab).tolist() == [4, 13, 3]

    def test_second_column_ignored_without_loaded_ids(self):
        vocab = ops.Vocabulary(DATA / "test_vocab.txt")
        assert ops.vocab_token_to_id("the", vocab) == 4
        assert ops.vocab_token_to_id("<S>", vocab) == 1

    def test_empty_lines_are_skipped(self, tmp_path):
        vocab = ops.Vocabulary(_write(tmp_path, "\n<s>\n\n</s>\n<unk>\n\nx"))
        assert (vocab.sos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2)
        assert ops.vocab_token_to_id("x", vocab) == 3

    def test_lowercase_specials_and_sow_eow(self, tmp_path):
        vocab = ops.Vocabulary(_write(tmp_path, "<unk>\n<s>\n</s>\n<sow>\n<eow>\n"))
        assert (vocab.unk_id, vocab.sos_id, vocab.eos_id) == (0, 1, 2)
        assert (vocab.sow_id, vocab.eow_id) == (3, 4)
        assert vocab.unk_token == b"<unk>"

    def test_later_duplicates_win(self, tmp_path):
        vocab = ops.Vocabulary(_write(tmp_path, "<s>\t0\n</s>\t1\n<unk>\t2\nx\t5\nx\t9\n"), True)
        assert ops.vocab_token_to_id("x", vocab) == 9
        # Both ids keep a token: only the token -> id direction is replaced.
        assert ops.vocab_id_to_token([5, 9], vocab).tolist() == [b"x", b"x"]

    def test_glob_matching_one_file(self, tmp_path):
        _write(tmp_path, "<s>\n</s>\n<unk>\n", "only.vocab")
        assert len(ops.Vocabulary(str(tmp_path / "*.vocab"))) == 3

    def test_glob_matching_two_files(self, tmp_path):
        _write(tmp_path, "<s>\n</s>\n<unk>\n", "a.vocab")
        _write(tmp_path, "<s>\n</s>\n<unk>\n", "b.vocab")
        with pytest.raises(ValueError, match="Did not match exactly one file with pattern"):
            ops.Vocabulary(str(tmp_path / "*.vocab"))

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
            ops.Vocabulary(tmp_path / "nope.txt")

    @pytest.mark.parametrize(
        "text, message",
        [
            ("<s>\n</s>\n", "<unk> is not found in the vocab."),
            ("<s>\n<unk>\n", "</s> is not found in the vocab."),
            ("<S>\n<UNK>\n", "</S> is not found in the vocab."),
            ("x\ny\n", "<S> is not found in the vocab."),
            ("<s>\n</s>\n<unk>\n<UNK>\n", "Invalid token <UNK> is found in the vocab."),
            ("<S>\n</S>\n<UNK>\n</s>\n", "Invalid token </s> is found in the vocab."),
        ],
    )
    def test_special_token_errors(self, tmp_path, text, message):
        path = _write(tmp_path, text)
        with pytest.raises(ValueError, match=str(path)) as info:
            ops.Vocabulary(path)
        assert message in str(info.value)

    def test_missing_id_names_file_and_line(self, tmp_path):
        path = _write(tmp_path, "<s>\t0\n</s>\t1\n\n<unk>\n")
        with pytest.raises(ValueError, match=rf"{path}:4: expected 'token<TAB>id'"):
            ops.Vocabulary(path, load_token_ids_from_vocab=True)

    def test_bad_id_names_file_and_line(self, tmp_path):
        path = _write(tmp_path, "<s>\t0\n</s>\tone\n<unk>\t2\n")
        with pytest.raises(ValueError, match=rf"{path}:2: expected an int32 id.*'one'"):
            ops.Vocabulary(path, load_token_ids_from_vocab=True)
        path = _write(tmp_path, "<s>\t0\n</s>\t1\n<unk>\t99999999999\n")
        with pytest.raises(ValueError, match=rf"{path}:3: "):
            ops.Vocabulary(path, load_token_ids_from_vocab=True)

    def test_from_lines_errors_name_the_element(self):
        with pytest.raises(ValueError, match=r"<lines>:2: expected an int32 id"):
            ops.Vocabulary.from_lines(["<S>\t1", "</S>\tx"], load_token_ids_from_vocab=True)

    def test_path_type_error(self):
        with pytest.raises(TypeError, match="path must be a path"):
            ops.Vocabulary(3)


class TestLookups:
    """simple_vocab_test.py's expectations (§10.2)."""

    def test_token_to_id(self):
        assert ops.vocab_token_to_id("<S>", LINES) == 0
        assert ops.vocab_token_to_id("a", LINES) == 4
        np.testing.assert_array_equal(ops.vocab_token_to_id(["b c d e", "♣"], LINES), [5, 8])
        assert ops.vocab_token_to_id("unknown", LINES) == 2

    def test_token_to_id_loaded_ids(self):
        kw = {"load_token_ids_from_vocab": True}
        assert ops.vocab_token_to_id("<S>", LINES_WITH_IDS, **kw) == 3
        assert ops.vocab_token_to_id("a", LINES_WITH_IDS, **kw) == 2
        ids = ops.vocab_token_to_id(["b c d e", "♣"], LINES_WITH_IDS, **kw)
        np.testing.assert_array_equal(ids, [4, -1])
        assert ops.vocab_token_to_id("unknown", LINES_WITH_IDS, **kw) == 7

    def test_id_to_token(self):
        assert ops.vocab_id_to_token(0, LINES) == b"<S>"
        assert ops.vocab_id_to_token(4, LINES) == b"a"
        assert ops.vocab_id_to_token([5, 8], LINES).tolist() == [b"b c d e", "♣".encode()]
        assert ops.vocab_id_to_token([2, -1, 11], LINES).tolist() == [b"<UNK>"] * 3

    def test_id_to_token_loaded_ids(self):
        kw = {"load_token_ids_from_vocab": True}
        assert ops.vocab_id_to_token(3, LINES_WITH_IDS, **kw) == b"<S>"
        assert ops.vocab_id_to_token(2, LINES_WITH_IDS, **kw) == b"a"
        tokens = ops.vocab_id_to_token([4, -1], LINES_WITH_IDS, **kw)
        assert tokens.tolist() == [b"b c d e", "♣".encode()]
        assert ops.vocab_id_to_token([7, 0], LINES_WITH_IDS, **kw).tolist() == [b"<UNK>"] * 2

    def test_token_in_vocab(self):
        found = ops.token_in_vocab(["a", "<UNK>", "b c d e", "♣", "unknown"], LINES)
        assert found.dtype == np.bool_
        assert found.tolist() == [True, True, True, True, False]
        assert ops.token_in_vocab("a", LINES).shape == ()

    def test_shapes_and_dtypes(self):
        vocab = ops.Vocabulary.from_lines(LINES)
        scalar = ops.vocab_token_to_id(b"a", vocab)
        assert scalar.shape == () and scalar.dtype == np.int32
        batch = ops.vocab_token_to_id(np.array(["a", "←"]), vocab)
        assert batch.shape == (2,) and batch.tolist() == [4, 10]
        assert ops.vocab_token_to_id([], vocab).shape == (0,)
        assert ops.vocab_id_to_token(np.int64(4), vocab).shape == ()
        assert ops.vocab_id_to_token(np.array([], np.int32), vocab).shape == (0,)

    def test_rank_two_is_rejected(self):
        vocab = ops.Vocabulary.from_lines(LINES)
        with pytest.raises(ValueError, match="Input must be a scalar or 1D tensor"):
            ops.vocab_token_to_id(np.array([["a"]]), vocab)
        with pytest.raises(ValueError, match="Input must be a scalar or 1D tensor"):
            ops.token_in_vocab(np.array([["a"]]), vocab)
        with pytest.raises(ValueError, match="Input must be a scalar or 1D tensor"):
            ops.vocab_id_to_token(np.zeros((1, 1), np.int32), vocab)

    def test_vocabulary_must_agree_with_load_flag(self):
        vocab = ops.Vocabulary.from_lines(LINES)
        with pytest.raises(ValueError, match="load_token_ids_from_vocab=False"):
            ops.vocab_token_to_id("a", vocab, load_token_ids_from_vocab=True)


A_TO_E = ["a b c d e", "<epsilon> <S> </S> <UNK>", "øut über ♣ 愤青 ←"]


def _pad(real, width):
    return [[0.0] * n + [1.0] * (width - n) for n in real]


@pytest.fixture(scope="module")
def vocab():
    return ops.Vocabulary(DATA / "test_vocab.txt", load_token_ids_from_vocab=True)


class TestStrToVocabTokens:
    """tokenizer_ops_test.py's StrToVocabTokens expectations (§10.4)."""

    def test_basic(self, vocab):
        token_ids, target_ids, paddings = ops.str_to_vocab_tokens(A_TO_E, vocab, maxlen=10)
        assert token_ids.dtype == np.int32 and paddings.dtype == np.float32
        np.testing.assert_array_equal(
            token_ids,
            [
                [1, 5, 6, 7, 8, 9, 2, 2, 2, 2],
                [1, 0, 1, 2, 3, 2, 2, 2, 2, 2],
                [1, 10, 11, 12, 13, 3, 2, 2, 2, 2],
            ],
        )
        np.testing.assert_array_equal(
            target_ids,
            [
                [5, 6, 7, 8, 9, 2, 2, 2, 2, 2],
                [0, 1, 2, 3, 2, 2, 2, 2, 2, 2],
                [10, 11, 12, 13, 3, 2, 2, 2, 2, 2],
            ],
        )
        np.testing.assert_array_equal(paddings, _pad([6, 5, 6], 10))

    def test_path_defaults_to_loaded_ids(self):
        token_ids, _, _ = ops.str_to_vocab_tokens(A_TO_E, DATA / "test_vocab.txt", maxlen=10)
        assert token_ids[0].tolist() == [1, 5, 6, 7, 8, 9, 2, 2, 2, 2]

    def test_no_eos(self, vocab):
        _, _, paddings = ops.str_to_vocab_tokens(A_TO_E, vocab, maxlen=10, append_eos=False)
        np.testing.assert_array_equal(paddings, _pad([5, 4, 5], 10))

    def test_truncation(self, vocab):
        token_ids, target_ids, paddings = ops.str_to_vocab_tokens(
            ["a b c d e " * 1000], vocab, maxlen=5
        )
        assert token_ids.tolist() == [[1, 5, 6, 7, 8]]
        assert target_ids.tolist() == [[5, 6, 7, 8, 9]]
        assert paddings.tolist() == [[0.0] * 5]

    def test_no_pad_to_maxlen(self, vocab):
        token_ids, target_ids, paddings = ops.str_to_vocab_tokens(
            A_TO_E, vocab, maxlen=10, pad_to_maxlen=False
        )
        assert token_ids.tolist() == [
            [1, 5, 6, 7, 8, 9],
            [1, 0, 1, 2, 3, 2],
            [1, 10, 11, 12, 13, 3],
        ]
        assert target_ids.tolist() == [
            [5, 6, 7, 8, 9, 2],
            [0, 1, 2, 3, 2, 2],
            [10, 11, 12, 13, 3, 2],
        ]
        assert paddings.tolist() == [[0] * 6, [0, 0, 0, 0, 0, 1], [0] * 6]

    @pytest.mark.parametrize("label, delimiter", [("a_b_c_d_e", "_"), ("abcde", "")])
    def test_delimiters(self, vocab, label, delimiter):
        token_ids, target_ids, paddings = ops.str_to_vocab_tokens(
            [label], vocab, maxlen=8, delimiter=delimiter
        )
        assert token_ids.tolist() == [[1, 5, 6, 7, 8, 9, 2, 2]]
        assert target_ids.tolist() == [[5, 6, 7, 8, 9, 2, 2, 2]]
        assert paddings.tolist() == [[0, 0, 0, 0, 0, 0, 1, 1]]

    def test_any_delimiter_character_and_blank_pieces(self, vocab):
        token_ids, _, _ = ops.str_to_vocab_tokens(
            ["a,b;;c , d"], vocab, maxlen=8, delimiter=",;", pad_to_maxlen=False
        )
        # "c " and " d" keep their spaces, so they are unknown (3); "" is dropped.
        assert token_ids.tolist() == [[1, 5, 6, 3, 3]]

    def test_empty_and_exactly_full_rows(self, vocab):
        token_ids, target_ids, paddings = ops.str_to_vocab_tokens(
            ["", "a b c d"], vocab, maxlen=4, pad_to_maxlen=False
        )
        # Four tokens fill maxlen 4: every position is real and there is no eos.
        assert token_ids.tolist() == [[1, 2, 2, 2], [1, 5, 6, 7]]
        assert target_ids.tolist() == [[2, 2, 2, 2], [5, 6, 7, 8]]
        assert paddings.tolist() == [[0, 1, 1, 1], [0, 0, 0, 0]]
        token_ids, _, paddings = ops.str_to_vocab_tokens([""], vocab, pad_to_maxlen=False)
        assert token_ids.tolist() == [[1]] and paddings.tolist() == [[0]]

    def test_empty_batch(self, vocab):
        token_ids, _, _ = ops.str_to_vocab_tokens([], vocab, maxlen=3)
        assert token_ids.shape == (0, 3)

    def test_errors(self, vocab):
        with pytest.raises(ValueError, match="maxlen must be >= 1"):
            ops.str_to_vocab_tokens(["a"], vocab, maxlen=0)
        with pytest.raises(ValueError, match="labels must be a vector"):
            ops.str_to_vocab_tokens("a b", vocab)
        with pytest.raises(TypeError, match=r"labels\[1\] must be str or bytes"):
            ops.str_to_vocab_tokens(["a", 3], vocab)
        with pytest.raises(ValueError, match="load_token_ids_from_vocab=True"):
            ops.str_to_vocab_tokens(["a"], vocab, load_token_ids_from_vocab=False)


@pytest.fixture(scope="module")
def ngram_path(tmp_path_factory):
    """A stand-in for Lingvo's test_ngrams.txt, which is not among the shared fixtures.

    It has the same first 15 lines (`<unk> <s> </s> { m , ? " s r ) n b t p`) and
    the tokens the test reads at ids 17, 22, 24, 57, 73 and 82.
    """
    lines = ["<unk>", "<s>", "</s>", "{", "m", ",", "?", '"', "s", "r", ")", "n", "b", "t", "p"]
    lines += [f"filler{i}" for i in range(len(lines), 83)]
    for i, token in {17: "l", 22: "c", 24: "o", 57: "gh", 73: "rt", 82: "we"}.items():
        lines[i] = token
    path = tmp_path_factory.mktemp("ngrams") / "test_ngrams.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class TestNgramIdToToken:
    """tokenizer_ops_test.py's NgramIdToToken expectations (§10.5)."""

    IDS = [[14, 11, 6, 24, 7, 3, 13, 82, 2, 2], [57, 3, 73, 17, 22, 9, 2, 2, 2, 2]]

    def test_joined(self, ngram_path):
        out = ops.ngram_id_to_token(self.IDS, [8, 6], ngram_path)
        assert out.tolist() == [b'pn?o"{twe', b"gh{rtlcr"]

    def test_separator(self, ngram_path):
        out = ops.ngram_id_to_token(self.IDS, np.array([8, 6]), ngram_path, ngram_separator=".")
        assert out.tolist() == [b'p.n.?.o.".{.t.we', b"gh.{.rt.l.c.r"]

    def test_line_ids_whatever_the_columns(self):
        # test_vocab.txt's ids equal its line numbers, so it round-trips.
        out = ops.ngram_id_to_token([[4, 5, 99, -1]], [4], DATA / "test_vocab.txt", " ")
        assert out.tolist() == [b"the a <UNK> <UNK>"]

    def test_vocabulary_object_and_lengths(self, ngram_path):
        vocab = ops.Vocabulary(ngram_path)
        out = ops.ngram_id_to_token(self.IDS, [0, -2], vocab)
        assert out.tolist() == [b"", b""]
        loaded = ops.Vocabulary(DATA / "test_vocab.txt", load_token_ids_from_vocab=True)
        with pytest.raises(ValueError, match="load_token_ids_from_vocab=True"):
            ops.ngram_id_to_token(self.IDS, [1, 1], loaded)

    def test_errors(self, ngram_path):
        with pytest.raises(ValueError, match="same batch size"):
            ops.ngram_id_to_token(self.IDS, [1], ngram_path)
        with pytest.raises(ValueError, match="exceeds the row length"):
            ops.ngram_id_to_token(self.IDS, [11, 1], ngram_path)
        with pytest.raises(ValueError, match="token_ids must be a matrix"):
            ops.ngram_id_to_token([1, 2], [1, 1], ngram_path)
        with pytest.raises(TypeError, match="must hold integers"):
            ops.ngram_id_to_token([[1.5]], [1], ngram_path)
