"""Tests of the scoring tool: restored scores, the output rows, totals and bad files."""

import math

import numpy as np
import pytest

from lingvo.tasks.lm.tools import restore, score, text


def _Restored(lmt, tmp_path, **kw):
    model_params, saved = lmt.SaveModel(lmt.WordLmParams(**kw), tmp_path)
    # A different seed: the scores only match the saved task if the restore worked.
    other = lmt.WordLmParams(seed=5, **kw)
    from lingvo.core import base_model

    task, path, step = restore.RestoreTask(base_model.SingleTaskModel.Params(other), tmp_path)
    del model_params
    return saved, task, path, step


def test_restored_model_scores_as_the_saved_one(lmt, tmp_path):
    saved, task, path, step = _Restored(lmt, tmp_path)
    assert path.endswith("train/ckpt-00000007") and step == 7
    lines = ["for more about", "", "one flambergastic will", "about"]
    totals = score.Totals()
    scores = list(score.Scorer(task, batch_size=2).Score(lines, totals))
    assert [s.line for s in scores] == [1, 3, 4]
    expected = saved.InferenceFn([lines[0], lines[2], lines[3]])
    np.testing.assert_allclose(
        [-s.log_prob for s in scores], expected.log_pplx_per_sample, rtol=1e-5
    )
    assert [s.num_tokens for s in scores] == [4, 4, 2]  # words + </S>
    assert [s.num_oovs for s in scores] == [0, 1, 0]
    for s in scores:
        assert len(s.log_pplx_per_token) == s.num_tokens
        np.testing.assert_allclose(sum(s.log_pplx_per_token), -s.log_prob, rtol=1e-5)
        assert s.perplexity == pytest.approx(math.exp(-s.log_prob / s.num_tokens))
    assert totals.sentences == 3 and totals.empty_lines == 1 and totals.tokens == 10
    assert totals.words == 7 and totals.oovs == 1 and totals.truncated == 0
    total = -sum(s.log_prob for s in scores)
    assert totals.word_perplexity == pytest.approx(math.exp(total / 10))
    assert totals.token_perplexity == pytest.approx(math.exp(total / 10))


def test_lines_longer_than_the_model_are_cut_and_counted(lmt, tmp_path):
    _, task, _, _ = _Restored(lmt, tmp_path, max_length=4)
    totals = score.Totals()
    scores = list(score.Scorer(task, 4).Score(["for more about one two", "for"], totals))
    assert [s.truncated for s in scores] == [True, False]
    assert [s.num_tokens for s in scores] == [4, 2]
    assert totals.truncated == 1 and totals.words == 6


def test_command_line_writes_rows_and_totals(lmt, tmp_path, capsys, monkeypatch):
    model_params, saved = lmt.SaveModel(lmt.WordLmParams(), tmp_path)
    monkeypatch.setattr(restore, "TaskParams", lambda *a: model_params)
    src = tmp_path / "in.txt"
    src.write_text("for more about\n\nam an\n", encoding="utf-8")
    out = tmp_path / "scores.tsv"
    argv = ["--model=x", f"--logdir={tmp_path}", f"--input={src}", f"--output={out}"]
    assert score.main([*argv, "--per_token"]) == 0
    rows = [r.split("\t") for r in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0] == [*score.HEADER, "log_pplx_per_token", "text"]
    assert [r[0] for r in rows[1:]] == ["1", "3"]
    assert [r[-1] for r in rows[1:]] == ["for more about", "am an"]
    expected = saved.InferenceFn(["for more about", "am an"]).log_pplx_per_sample.numpy()
    np.testing.assert_allclose([-float(r[1]) for r in rows[1:]], expected, rtol=1e-5)
    assert [len(r[5].split()) for r in rows[1:]] == [4, 3]
    err = capsys.readouterr().err
    assert "2 sentences, 7 tokens" in err and "1 empty lines skipped" in err
    word_ppl = math.exp(float(np.sum(expected)) / 7)
    assert f"word perplexity {word_ppl:.3f}" in err


def test_file_in_another_encoding_is_refused_with_its_position(tmp_path, capsys):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("a cafe\nun caf\u00e9 cr\u00e8me\n".encode("latin-1"))
    with pytest.raises(text.NotUtf8Error, match=r"latin1.txt: line 2, byte 13 \(0xe9\)"):
        text.ReadUtf8Lines(str(latin1))
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes("a man\n".encode("utf-16"))
    with pytest.raises(text.NotUtf8Error, match=r"utf16.txt: line 1, byte 0 \(0xff\)"):
        text.ReadUtf8Lines(str(utf16))
    # The command refuses the file before looking for a model or a checkpoint.
    assert score.main(["--model=lm.no.Such", f"--logdir={tmp_path}", f"--input={latin1}"]) == 1
    err = capsys.readouterr().err
    assert "score: error:" in err and "line 2, byte 13" in err and "not UTF-8" in err
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffa b\r\nc\n".encode())
    assert text.ReadUtf8Lines(str(bom)) == ["a b", "c"]


def test_missing_checkpoint_and_bad_arguments(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("a\n")
    assert score.main(["--model=lm.no.Such", f"--logdir={tmp_path}", f"--input={src}"]) == 1
    assert "no checkpoint in" in capsys.readouterr().err
    for bad, message in [
        ([f"--logdir={tmp_path}", f"--input={src}", "--batch_size=0"], "at least 1"),
        ([f"--input={src}"], "pass --logdir"),
        ([f"--logdir={tmp_path}", f"--input={tmp_path / 'no.txt'}"], "no such file"),
    ]:
        with pytest.raises(SystemExit):
            score.ParseArgs(["--model=m", *bad])
        assert message in capsys.readouterr().err
