"""Tests of the word-piece model against Lingvo's WPM fixtures and its Python encoder."""

import json
import pathlib
import threading

import numpy as np
import pytest

from lingvo import ops

DATA = pathlib.Path(__file__).resolve().parent / "data"
# Ids, pieces and decoded text of Lingvo 0.14.2's wpm_encoder for project-written
# sentences; see data/make_reference_vectors.py.
REFERENCE = json.loads((DATA / "wpm_reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def wpm():
    return ops.WordPieceModel(DATA / "wpm-ende-2k.voc")


def _en_de():
    lines = (DATA / "en_de.text").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines]


def test_vocabulary(wpm):
    assert len(wpm) == 2000
    assert (wpm.unk_id, wpm.sos_id, wpm.eos_id) == (0, 1, 2)
    assert wpm.id_to_piece([0, 3, 4]).tolist() == [b"<unk>", "▁".encode(), b"."]
    assert wpm.id_to_piece(5000) == b"<unk>"


def test_en_de_text_pieces(wpm):
    """lingvo-tasks §2.7 testTextPackedInputTextWpm: the pieces of en_de.text."""
    (src1, tgt1), (src2, tgt2) = _en_de()
    expected = {
        src1: "▁T oo ▁m uch ▁has ▁ch ang ed .",
        src2: "▁H ell o !",
        tgt1: "▁D af ür ▁hat ▁sich ▁zu ▁viel ▁ver än der t .",
        tgt2: "▁H all o !",
    }
    for text, pieces in expected.items():
        got = [p.decode() for p in wpm.id_to_piece(wpm.encode(text))]
        assert got == pieces.split(" ")


def test_en_de_text_packed_input_ids(wpm):
    """testTextPackedInputTextWpm (src max 12, tgt max 15): sources end in eos, no sos."""
    (src1, tgt1), (src2, tgt2) = _en_de()
    src = [np.append(wpm.encode(s), wpm.eos_id).tolist() for s in (src1, src2)]
    assert src == [[109, 251, 98, 595, 1009, 245, 326, 129, 4, 2], [115, 276, 18, 66, 2]]
    token_ids, target_ids, paddings = wpm.strings_to_ids([tgt1, tgt2], maxlen=15)
    # TextPackedInput re-zeroes the padded positions; the tokenizer pads with eos.
    np.testing.assert_array_equal(
        np.where(paddings == 1.0, 0, token_ids),
        [
            [1, 197, 446, 458, 419, 284, 323, 1411, 571, 456, 409, 13, 4, 0, 0],
            [1, 115, 281, 18, 66] + [0] * 10,
        ],
    )
    np.testing.assert_array_equal(
        np.where(paddings == 1.0, 0, target_ids),
        [
            [197, 446, 458, 419, 284, 323, 1411, 571, 456, 409, 13, 4, 2, 0, 0],
            [115, 281, 18, 66, 2] + [0] * 10,
        ],
    )
    assert paddings.tolist() == [[0.0] * 13 + [1.0] * 2, [0.0] * 5 + [1.0] * 10]


def test_en_de_text_keep_truncated(wpm):
    """testTextPackedInputKeepTruncated (max 5): a cut row keeps no eos."""
    (src1, tgt1), (src2, tgt2) = _en_de()
    token_ids, target_ids, paddings = wpm.strings_to_ids([tgt1, tgt2], maxlen=5)
    assert token_ids.tolist() == [[1, 197, 446, 458, 419], [1, 115, 281, 18, 66]]
    assert target_ids.tolist() == [[197, 446, 458, 419, 284], [115, 281, 18, 66, 2]]
    assert paddings.tolist() == [[0.0] * 5] * 2
    _, src_targets, _ = wpm.strings_to_ids([src1, src2], maxlen=5)
    assert src_targets.tolist() == [[109, 251, 98, 595, 1009], [115, 276, 18, 66, 2]]


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: c["text_hex"][:24] or "empty")
def test_matches_lingvo_encoder(wpm, case):
    text = bytes.fromhex(case["text_hex"])
    ids = wpm.encode(text)
    assert ids.dtype == np.int32
    assert ids.tolist() == case["ids"]
    assert [p.decode() for p in wpm.id_to_piece(ids)] == case["pieces"]
    assert wpm.decode(ids) == bytes.fromhex(case["decoded_hex"])


def test_str_and_bytes_agree(wpm):
    assert wpm.encode("Dafür").tolist() == wpm.encode("Dafür".encode()).tolist()


def test_encode_batch_and_ids_to_strings(wpm):
    texts = [bytes.fromhex(c["text_hex"]) for c in REFERENCE["cases"]]
    rows = wpm.encode_batch(texts)
    assert [r.tolist() for r in rows] == [c["ids"] for c in REFERENCE["cases"]]
    width = max(len(r) for r in rows)
    ids = np.array([np.pad(r, (0, width - len(r)), constant_values=2) for r in rows])
    lens = np.array([len(r) for r in rows])
    decoded = wpm.ids_to_strings(ids, lens)
    assert decoded.tolist() == [bytes.fromhex(c["decoded_hex"]) for c in REFERENCE["cases"]]


def test_decode_round_trips_known_text(wpm):
    for text in ["Too much has changed.", "Dafür hat sich zu viel verändert.", "Hello!"]:
        assert wpm.decode(wpm.encode(text)) == text.encode()
    assert wpm.decode([]) == b""
    # Ids without a piece decode as <unk>; </s> gets no special treatment.
    assert wpm.decode([2, 115, 9999, -1]) == b"</s> H<unk><unk>"


def test_strings_to_ids_layout(wpm):
    """wpm_tokenizer_test's layout: ids/labels padded with eos, paddings 0 up to eos."""
    labels = ["Hello!", "Too much has changed.", ""]
    token_ids, target_ids, paddings = wpm.strings_to_ids(labels, maxlen=6)
    assert token_ids.tolist() == [
        [1, 115, 276, 18, 66, 2],
        [1, 109, 251, 98, 595, 1009],
        [1, 2, 2, 2, 2, 2],
    ]
    assert target_ids.tolist() == [
        [115, 276, 18, 66, 2, 2],
        [109, 251, 98, 595, 1009, 245],
        [2] * 6,
    ]
    assert paddings.tolist() == [[0, 0, 0, 0, 0, 1], [0] * 6, [0, 1, 1, 1, 1, 1]]
    _, _, paddings = wpm.strings_to_ids(labels, maxlen=6, append_eos=False)
    assert paddings.tolist() == [[0, 0, 0, 0, 1, 1], [0] * 6, [1] * 6]


def test_strings_to_ids_width_without_pad_to_maxlen(wpm):
    # The width is the longest row's real length: with append_eos it counts eos.
    token_ids, _, _ = wpm.strings_to_ids(["Hello!", ""], maxlen=20, pad_to_maxlen=False)
    assert token_ids.tolist() == [[1, 115, 276, 18, 66], [1, 2, 2, 2, 2]]
    token_ids, target_ids, paddings = wpm.strings_to_ids(
        ["Hello!", ""], maxlen=20, append_eos=False, pad_to_maxlen=False
    )
    assert token_ids.tolist() == [[1, 115, 276, 18], [1, 2, 2, 2]]
    assert target_ids.tolist() == [[115, 276, 18, 66], [2, 2, 2, 2]]
    assert paddings.tolist() == [[0, 0, 0, 0], [1, 1, 1, 1]]
    token_ids, _, _ = wpm.strings_to_ids([""], maxlen=3, append_eos=False, pad_to_maxlen=False)
    assert token_ids.shape == (1, 0)


def test_merge_order_on_a_toy_vocabulary(tmp_path):
    """The smallest merged id wins, the leftmost on a tie; unknown characters are <unk>."""
    pieces = ["<unk>", "<s>", "</s>", "▁", "D", "i", "t", "o", "tt", "itt", "▁D", "ø", "f", "\\"]
    path = tmp_path / "toy.voc"
    path.write_text("".join(p + "\tscore\n" for p in pieces), encoding="utf-8")
    wpm = ops.WordPieceModel(path)
    assert [p.decode() for p in wpm.id_to_piece(wpm.encode("Ditto"))] == ["▁D", "itt", "o"]
    assert [p.decode() for p in wpm.id_to_piece(wpm.encode("\\"))] == ["▁", "\\"]
    assert wpm.encode("føö").tolist() == [3, 12, 11, 0]
    assert wpm.encode("").tolist() == []
    assert wpm.decode(wpm.encode("Ditto føø")) == "Ditto føø".encode()


def test_later_duplicate_piece_takes_the_id(tmp_path):
    path = tmp_path / "dup.voc"
    path.write_text("<unk>\n<s>\n</s>\n▁\na\nb\nab\n▁ab\nab\n", encoding="utf-8")
    wpm = ops.WordPieceModel(path)
    # "▁a" is not a piece, so a + b merges first, as id 8 (the later "ab" line);
    # then ▁ + ab merges into "▁ab" = 7.
    assert wpm.encode("ab").tolist() == [7]
    assert wpm.id_to_piece([6, 8]).tolist() == [b"ab", b"ab"]


def test_errors(tmp_path, wpm):
    with pytest.raises(FileNotFoundError, match=r"missing\.voc"):
        ops.WordPieceModel(tmp_path / "missing.voc")
    blank = tmp_path / "blank.voc"
    blank.write_text("<unk>\n<s>\n  \n</s>\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{blank}:3: blank line"):
        ops.WordPieceModel(blank)
    no_eos = tmp_path / "no_eos.voc"
    no_eos.write_text("<unk>\n<s>\n", encoding="utf-8")
    with pytest.raises(ValueError, match="</s> is not found"):
        ops.WordPieceModel(no_eos)
    with pytest.raises(TypeError, match="encode_batch takes a batch"):
        wpm.encode(["a"])
    with pytest.raises(ValueError, match="maxlen must be >= 1"):
        wpm.strings_to_ids(["a"], maxlen=0)
    with pytest.raises(ValueError, match="exceeds the row length"):
        wpm.ids_to_strings([[1, 2]], [3])


def test_one_model_shared_by_threads(wpm):
    """The model is immutable after loading, so threads may share it (the GIL is released)."""
    texts = [bytes.fromhex(c["text_hex"]) for c in REFERENCE["cases"]] * 20
    expected = [c["ids"] for c in REFERENCE["cases"]] * 20
    results = [None] * 4

    def work(slot):
        results[slot] = [r.tolist() for r in wpm.encode_batch(texts)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4
