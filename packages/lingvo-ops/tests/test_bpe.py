"""Tests of the BPE word-map ops and the MLPerf subword decoder against Lingvo's vectors."""

import json
import pathlib

import numpy as np
import pytest

from lingvo import ops

DATA = pathlib.Path(__file__).resolve().parent / "data"
WORDS = DATA / "bpe_words.vocab"
CODES = DATA / "bpe_codes.vocab"

LABELS = ["GIVE ME A PENNY", "THEY LIVED ALONE", "THEY GIVE ME A PENNY ALONE"]
TARGETS = [
    [27, 9, 30, 14, 28, 14, 52, 11, 4, 6, 6, 10, 2, 2, 2],
    [16, 4, 10, 12, 9, 30, 24, 7, 12, 49, 14, 2, 2, 2, 2],
    [16, 4, 10, 27, 9, 30, 14, 28, 14, 52, 11, 4, 6, 6, 10],
]


class TestBpeWordsToIds:
    """tokenizer_ops_test.py's BPE expectations (§10.6), maxlen 15."""

    def test_targets_tokens_paddings(self):
        token_ids, target_ids, paddings = ops.bpe_words_to_ids(LABELS, WORDS, maxlen=15)
        assert token_ids.dtype == np.int32 and paddings.dtype == np.float32
        assert target_ids.tolist() == TARGETS
        assert token_ids.tolist() == [[1, *row[:14]] for row in TARGETS]
        assert paddings.tolist() == [[0.0] * 13 + [1.0] * 2, [0.0] * 12 + [1.0] * 3, [0.0] * 15]

    def test_round_trip_through_bpe_ids_to_words(self):
        _, target_ids, paddings = ops.bpe_words_to_ids(LABELS, str(WORDS), maxlen=15)
        lens = np.sum(1.0 - paddings, axis=1).astype(np.int32)
        words = ops.bpe_ids_to_words(target_ids, lens, CODES)
        assert words.tolist() == [
            b"GIVE ME A PENNY </s> ",
            b"THEY LIVED ALONE </s> ",
            b"THEY GIVE ME A PENNY ",
        ]

    def test_no_eos_unknown_words_and_ids(self):
        token_ids, target_ids, paddings = ops.bpe_words_to_ids(
            ["  A  NOTAWORD\tA ", ""], WORDS, maxlen=4, append_eos=False, sos_id=7, eos_id=9
        )
        # "NOTAWORD\tA" is one word (labels split on spaces only) and unknown.
        assert token_ids.tolist() == [[7, 52, 9, 9], [7, 9, 9, 9]]
        assert target_ids.tolist() == [[52, 9, 9, 9], [9, 9, 9, 9]]
        assert paddings.tolist() == [[0, 1, 1, 1], [1, 1, 1, 1]]

    def test_errors(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"missing\.vocab"):
            ops.bpe_words_to_ids(LABELS, tmp_path / "missing.vocab")
        bad = tmp_path / "bad.vocab"
        bad.write_text("A 52\n\nB 1,x\n", encoding="utf-8")
        with pytest.raises(ValueError, match=rf"{bad}:3: expected an int32 id, found 'x'"):
            ops.bpe_words_to_ids(LABELS, bad)
        bad.write_text("A\n", encoding="utf-8")
        with pytest.raises(ValueError, match=rf"{bad}:1: expected 'WORD id,id,...'"):
            ops.bpe_words_to_ids(LABELS, bad)
        with pytest.raises(ValueError, match="maxlen must be >= 1"):
            ops.bpe_words_to_ids(LABELS, WORDS, maxlen=0)
        with pytest.raises(TypeError, match="tokenization_filepath must be a path"):
            ops.bpe_words_to_ids(LABELS, None)


class TestBpeIdsToWords:
    def test_at_at_deleted_once(self, tmp_path):
        vocab = tmp_path / "codes.vocab"
        vocab.write_text("<unk>\n<s> 3\n</s>\nAB@@ 4\nC@@D@@\nEF\n", encoding="utf-8")
        out = ops.bpe_ids_to_words([[3, 4, 5, 1, 3], [0, 0, 0, 0, 0]], [4, -1], vocab)
        assert out.tolist() == [b"ABCD@@EF <s> ", b""]

    def test_errors(self):
        with pytest.raises(ValueError, match=r"token_ids\[0, 1\] = 67 is outside the vocabulary"):
            ops.bpe_ids_to_words([[1, 67]], [2], CODES)
        with pytest.raises(ValueError, match="exceeds the row length"):
            ops.bpe_ids_to_words([[1, 2]], [3], CODES)
        with pytest.raises(ValueError, match="same batch size"):
            ops.bpe_ids_to_words([[1, 2]], [1, 1], CODES)


MLPERF = json.loads((DATA / "mlperf_reference.json").read_text(encoding="utf-8"))


class TestMlPerfSubwordIdToString:
    """Lingvo 0.14.2's decoder over a toy vocabulary (data/make_reference_vectors.py).

    The reference sentences of §10.7 need Lingvo's 33,708-entry MLPerf vocabulary,
    which is not among the shared fixtures.
    """

    def test_matches_lingvo(self):
        rows = MLPERF["rows"]
        width = max(len(r) for r in rows)
        ids = np.array([r + [0] * (width - len(r)) for r in rows], np.int64)
        lens = np.array([len(r) for r in rows])
        out = ops.ml_perf_subword_id_to_string(ids, lens, DATA / MLPERF["vocab"])
        assert out.tolist() == [bytes.fromhex(h) for h in MLPERF["decoded_hex"]]
        neg = ops.ml_perf_subword_id_to_string(ids[:1], [-3], DATA / MLPERF["vocab"])
        assert neg.tolist() == [bytes.fromhex(MLPERF["negative_length_decoded_hex"])]

    def test_reference_sentence_shape(self, tmp_path):
        """§10.7's English sentence, with tokens made up to match its ids."""
        ids = [264, 4, 288, 189, 4138, 30725, 14, 1461, 2761, 243, 28, 2692, 9]
        ids += [1679, 2, 1218, 9, 4, 15190, 7, 427, 497, 7, 147, 3, 1]
        tokens = ["If_", "the_", "market_", " “", "mis", "behaves_", ",” _", "farmers_", "could_"]
        tokens += ["be_", "re", "duced_", "to_", "poverty_", ", _", "leading_", "to_", "the_"]
        tokens += ["neglect_", "of_", "large_", "areas_", "of_", "Europe_", "._", "<EOS>_"]
        vocab = ["'<pad>_'"] * 33708
        for i, t in zip(ids, tokens, strict=True):
            vocab[i] = f"'{t}'"
        path = tmp_path / "subwords.vocab"
        path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
        out = ops.ml_perf_subword_id_to_string([ids], [26], path)
        expected = (
            "If the market “misbehaves,” farmers could be reduced to poverty, leading to "
            "the neglect of large areas of Europe.<EOS>"
        )
        assert out.tolist() == [expected.encode()]

    def test_reference_german_sentence_shape(self, tmp_path):
        """§10.7's German sentence, with tokens made up to match its ids (id 10 is "die"
        twice; ids 1, 2 and 3 are the English test's "<EOS>_", ", _" and "._")."""
        pieces = [
            (275, "Wenn_"), (52, "sich_"), (11, "der_"), (1434, "Markt_"), (215, " „"),
            (30372, "dane"), (1546, "ben "), (6997, "benimm"), (6495, "t"), (291, "“ _"),
            (802, "könnten_"), (10, "die_"), (9986, "Bauern_"), (6, "in_"), (10, "die_"),
            (1857, "Armut_"), (12726, "ab"), (13624, "gleiten_"), (2, ", _"), (53, "was_"),
            (18, "zu_"), (87, "einer_"), (15934, "Vernachlässig"), (5618, "ung_"),
            (12321, "großer_"), (127, "Teile_"), (1565, "Europa"), (4209, "s_"),
            (885, "führen_"), (777, "wür"), (335, "de"), (3, "._"), (1, "<EOS>_"),
        ]  # fmt: skip
        ids = [i for i, _ in pieces]
        reference_ids = [275, 52, 11, 1434, 215, 30372, 1546, 6997, 6495, 291, 802, 10, 9986]
        reference_ids += [6, 10, 1857, 12726, 13624, 2, 53, 18, 87, 15934, 5618, 12321, 127]
        reference_ids += [1565, 4209, 885, 777, 335, 3, 1]
        assert ids == reference_ids
        vocab = ["'<pad>_'"] * 33708
        for i, t in pieces:
            vocab[i] = f"'{t}'"
        path = tmp_path / "subwords.vocab"
        path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
        out = ops.ml_perf_subword_id_to_string([ids], [33], path)
        expected = (
            "Wenn sich der Markt „daneben benimmt“ könnten die Bauern in die Armut abgleiten, "
            "was zu einer Vernachlässigung großer Teile Europas führen würde.<EOS>"
        )
        assert out.tolist() == [expected.encode()]

    def test_errors(self, tmp_path):
        vocab = DATA / MLPERF["vocab"]
        with pytest.raises(ValueError, match=r"token_ids\[0, 0\] = 28 is outside the vocabulary"):
            ops.ml_perf_subword_id_to_string([[28]], [1], vocab)
        with pytest.raises(ValueError, match="is outside the vocabulary"):
            ops.ml_perf_subword_id_to_string([[-1]], [1], vocab)
        short = tmp_path / "short.vocab"
        short.write_text("'a'\n''\n", encoding="utf-8")
        with pytest.raises(ValueError, match=rf"{short}:2: expected a quoted token"):
            ops.ml_perf_subword_id_to_string([[0]], [1], short)
        with pytest.raises(FileNotFoundError):
            ops.ml_perf_subword_id_to_string([[0]], [1], tmp_path / "none.vocab")
