"""The MT decoder's structured output: unsegmenting and the JSON-lines records."""

import pytest

from lingvo.tasks.mt import decode_output


def test_unsegment_word_pieces_bpe_and_words():
    assert decode_output.Unsegment("▁Ein ▁rot er ▁Fr osch .", "wpm") == "Ein roter Frosch."
    assert decode_output.Unsegment("▁H all o !", "spm") == "Hallo!"
    assert decode_output.Unsegment("ein ro@@ ter Frosch", "bpe") == "ein roter Frosch"
    assert decode_output.Unsegment(" plain words ", None) == "plain words"
    with pytest.raises(ValueError, match="unknown separator_type 'xyz'"):
        decode_output.Unsegment("a", "xyz")


def test_records_round_trip_with_non_ascii(tmp_path):
    record = decode_output.DecodedSentence.FromPieces(
        "▁Too ▁much ▁has ▁ch ang ed .",
        "▁D af ür ▁hat ▁sich ▁zu ▁viel ▁ver än der t .",
        ["▁D af ür ▁hat", "▁Zu ▁viel"],
        [-1.25, -2.5],
        "wpm",
    )
    assert record.source == "Too much has changed."
    assert record.reference == "Dafür hat sich zu viel verändert."
    assert record.hyps == ["Dafür hat", "Zu viel"]
    path = decode_output.JsonLinesPath(str(tmp_path / "decoder_out_000000100"))
    assert path.endswith("decoder_out_000000100.jsonl")
    assert decode_output.WriteJsonLines(path, [record, record]) == 2
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert "verändert" in text and text.count("\n") == 2
    assert decode_output.ReadJsonLines(path) == [record, record]


def test_a_bad_line_is_named(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"source": "a"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"out.jsonl:1: not a decoded-sentence record"):
        decode_output.ReadJsonLines(str(path))
