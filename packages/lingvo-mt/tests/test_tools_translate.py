"""Tests of the translate command: arguments, a logdir without checkpoints, batching."""

import io
import os

import numpy as np
import pytest
import tensorflow as tf

from lingvo import ops
from lingvo.core.nested_map import NestedMap
from lingvo.tasks.mt.tools import translate

VOC = os.path.join(os.path.dirname(__file__), "data", "wpm-ende-2k.voc")


def test_arguments_defaults_and_checks(tmp_path, capsys):
    args = translate.ParseArgs(["--model=mt.x.Y", f"--logdir={tmp_path}"])
    assert (args.n_best, args.beam_size, args.batch_size, args.input, args.output) == (
        1,
        4,
        32,
        "-",
        "-",
    )
    args = translate.ParseArgs(
        ["--model=m", "--logdir=l", "--n_best=3", "--beam_size=3", "--batch_size=2"]
    )
    assert (args.n_best, args.beam_size, args.batch_size) == (3, 3, 2)
    for bad, message in [
        (["--n_best=5", "--beam_size=4"], "cannot exceed --beam_size"),
        (["--batch_size=0"], "--batch_size must be at least 1"),
        ([f"--input={tmp_path / 'nope.txt'}"], "no such file"),
    ]:
        with pytest.raises(SystemExit):
            translate.ParseArgs(["--model=m", "--logdir=l", *bad])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        translate.ParseArgs(["--logdir=l"])  # --model is required.


def test_logdir_without_checkpoint_gives_a_clear_message(tmp_path, capsys):
    with pytest.raises(translate.NoCheckpointError, match=r"no checkpoint in .*train"):
        translate.FindCheckpoint(str(tmp_path))
    (tmp_path / "train").mkdir()
    with pytest.raises(translate.NoCheckpointError, match="train the model first"):
        translate.FindCheckpoint(str(tmp_path))
    with pytest.raises(translate.NoCheckpointError, match="does not exist"):
        translate.FindCheckpoint(str(tmp_path / "missing"))
    # The command checks before building any model, so even an unknown key reports it.
    assert translate.main(["--model=mt.no.Such", f"--logdir={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert "translate: error: no checkpoint in" in err


def test_finds_the_newest_checkpoint_the_trainer_wrote(tmp_path):
    train = tmp_path / "train"
    v = tf.Variable(1.0)
    ckpt = tf.train.Checkpoint(model=tf.Module())
    ckpt.model.v = v
    for step in (5, 12):
        path = ckpt.write(str(train / f"ckpt-{step:08d}"))
        tf.compat.v1.train.update_checkpoint_state(
            str(train),
            os.path.basename(path),
            all_model_checkpoint_paths=[f"ckpt-{s:08d}" for s in (5, 12) if s <= step],
        )
    assert translate.FindCheckpoint(str(tmp_path)) == str(train / "ckpt-00000012")


class _CopyTask:
    """Stands in for an MT task: its "beam search" returns the source (a copy model)."""

    def __init__(self, k):
        self.k = k
        self.enc = self
        self.dec = self
        self.batches = []

    def EvalTheta(self):
        return NestedMap(enc=NestedMap(), dec=NestedMap())

    def FProp(self, theta, src):
        return src

    def BeamSearchDecode(self, theta, enc, num_hyps_per_beam=0):
        k = num_hyps_per_beam
        ids = tf.repeat(enc.ids, k, axis=0)
        lens = tf.repeat(tf.cast(tf.reduce_sum(1.0 - enc.paddings, 1), tf.int32), k)
        b = tf.shape(enc.ids)[0]
        scores = -tf.tile(tf.range(k, dtype=tf.float32)[None], [b, 1])
        return NestedMap(topk_ids=ids, topk_lens=lens, topk_scores=scores)


def test_translator_batches_keeps_empty_lines_and_n_best():
    wpm = ops.WordPieceModel(VOC)
    tr = translate.Translator(_CopyTask(3), wpm, beam_size=3, batch_size=2)
    assert tr.escape  # wpm-ende-2k.voc was learned on Moses-escaped text.
    lines = ["Hello!", "", 'Ein "Hund".', "Zwei Katzen", "  "]
    out = list(tr.Translate(lines, n_best=2))
    assert len(out) == 5 and out[1] == [] and out[4] == []
    assert [h[0][0] for h in (out[0], out[2], out[3])] == ["Hello!", 'Ein "Hund".', "Zwei Katzen"]
    assert [score for _, score in out[0]] == [0.0, -1.0]


def test_translator_cuts_long_sources():
    wpm = ops.WordPieceModel(VOC)
    tr = translate.Translator(_CopyTask(1), wpm, beam_size=1, max_source_length=3, escape=False)
    (hyps,) = list(tr.Translate(["one two three four five"]))
    assert tr.truncated == 1
    assert len(wpm.encode(hyps[0][0])) == 2


def test_main_writes_one_line_per_input(tmp_path, monkeypatch, capsys):
    wpm = ops.WordPieceModel(VOC)
    monkeypatch.setattr(
        translate,
        "LoadTranslator",
        lambda *a, **k: translate.Translator(
            _CopyTask(k["beam_size"]), wpm, k["beam_size"], k["batch_size"]
        ),
    )
    src = tmp_path / "in.txt"
    src.write_text("Der Hund.\n\nDie Katze.\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    argv = ["--model=m", f"--logdir={tmp_path}", f"--input={src}", f"--output={out}"]
    assert translate.main(argv) == 0
    assert out.read_text(encoding="utf-8") == "Der Hund.\n\nDie Katze.\n"
    assert translate.main([*argv, "--n_best=2", "--beam_size=2"]) == 0
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r[:2] for r in rows] == [["1", "0"], ["1", "1"], ["3", "0"], ["3", "1"]]
    assert rows[0][3] == "Der Hund." and float(rows[1][2]) == -1.0
    assert "3 lines translated" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("Hallo.\n"))
    assert translate.main(["--model=m", f"--logdir={tmp_path}"]) == 0
    assert capsys.readouterr().out == "Hallo.\n"
    # Characters the vocabulary lacks become <unk> and are counted, never silently.
    monkeypatch.setattr("sys.stdin", io.StringIO("Ein \u2603 Hund \u2603\u2603.\nEin Hund.\n"))
    assert translate.main(["--model=m", f"--logdir={tmp_path}"]) == 0
    err = capsys.readouterr().err
    assert "2 lines translated" in err
    assert "<unk> pieces (characters outside the vocabulary) in 1 lines" in err


KEY = "mt.wmtm16_en_de.WmtCaptionEnDeTransformer"
# A short search keeps the test fast; the model itself is the registered one.
OVERRIDE = "task.decoder.target_seq_len : 5"


def _FakeCheckpoint(logdir):
    ckpt = tf.train.Checkpoint(model=tf.Module())
    path = ckpt.write(os.path.join(logdir, "train", "ckpt-00000001"))
    tf.compat.v1.train.update_checkpoint_state(
        os.path.join(logdir, "train"), os.path.basename(path)
    )


def test_vocabulary_that_does_not_match_the_model_is_an_error_at_start(tmp_path, capsys):
    pytest.importorskip("lingvo.tasks.mt.params.wmtm16_en_de")
    _FakeCheckpoint(str(tmp_path))
    small = tmp_path / "small.voc"
    small.write_text("<unk>\n<s>\n</s>\n\u2581\na\n", encoding="utf-8")
    argv = ["--model", KEY, f"--logdir={tmp_path}", f"--vocab={small}"]
    assert translate.main(argv) == 1
    err = capsys.readouterr().err
    assert "has 5 pieces but model" in err and "2000 output classes" in err


def test_translates_with_the_newest_checkpoint_of_a_registered_model(tmp_path):
    pytest.importorskip("lingvo.tasks.mt.params.wmtm16_en_de")
    from lingvo import model_registry
    from lingvo.core import run_mode
    from lingvo.trainer import checkpointer

    p = model_registry.GetParams(KEY, "Train", model_params_override=OVERRIDE)
    with run_mode.EvalMode(False):
        model = p.Instantiate()
    var = model.GetTask().TrainableVariables()[0]
    var.assign(tf.fill(tf.shape(var), tf.constant(0.125, var.dtype)))
    model.global_step.assign(7)
    checkpointer.Checkpointer(str(tmp_path / "train"), {"model": model}, p.train).Save(7)

    tr = translate.LoadTranslator(
        KEY, str(tmp_path), beam_size=2, batch_size=2, model_params_override=OVERRIDE
    )
    restored = tr.task.TrainableVariables()[0]
    np.testing.assert_array_equal(restored.numpy(), var.numpy())
    out = list(tr.Translate(['A dog "runs".', ""], n_best=2))
    assert len(out) == 2 and len(out[0]) == 2 and out[1] == []
    assert all(isinstance(text, str) and np.isfinite(score) for text, score in out[0])
