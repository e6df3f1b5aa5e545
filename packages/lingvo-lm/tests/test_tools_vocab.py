"""Tests of the lm1b-layout vocabulary builder and checker."""

import pytest

from lingvo.core import tokenizers
from lingvo.tasks.lm.tools import vocab


def test_build_orders_by_count_then_alphabet_with_cutoff(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("b a c a\nb a d\nc b e\n", encoding="utf-8")
    out = tmp_path / "vocab.txt"
    assert vocab.main([f"--input={text}", f"--output={out}", "--min_count=2"]) == 0
    assert out.read_text().splitlines() == [
        "<epsilon>\t0",
        "<S>\t1",
        "</S>\t2",
        "<UNK>\t3",
        "a\t4",
        "b\t5",
        "c\t6",
    ]
    assert vocab.CheckVocab(str(out))[4:] == ["a", "b", "c"]
    # The tokenizer reads it with sos 1, eos 2, unk 3.
    tok = (
        tokenizers.VocabFileTokenizer.Params()
        .Set(token_vocab_filepath=str(out), target_unk_id=3)
        .Instantiate()
    )
    ids, labels, _ = tok.StringsToIds(["a z c"], 6)
    assert ids.numpy()[0, :4].tolist() == [1, 4, 3, 6] and labels.numpy()[0, 3] == 2


def test_small_word_vocab_fixture_passes(lmt):
    assert len(vocab.CheckVocab(lmt.SMALL_WORD_VOCAB)) == 64


@pytest.mark.parametrize(
    "lines, match",
    [
        (["<epsilon>\t0", "<S>\t1", "</S>\t2", "<UNK>\t3", "a\t4", "a\t5"], r":6: duplicate .*'a'"),
        (["<epsilon>\t0", "<S>\t1", "<UNK>\t2", "a\t3"], r":3: expected the special token '</S>'"),
        (["<epsilon>\t0", "<S>\t1", "</S>\t2"], r":4: expected .*'<UNK>'.*end of the file"),
    ],
)
def test_bad_vocab_names_the_line(tmp_path, lines, match):
    path = tmp_path / "v.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=match):
        vocab.CheckVocab(str(path))


def test_non_utf8_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    assert vocab.main([f"--input={path}", f"--output={tmp_path / 'v.txt'}"]) == 1
    assert "not UTF-8" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"latin1.txt:1: not UTF-8"):
        vocab.CheckVocab(str(path))
